using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Parley.IntegrationTests;

/// <summary>
/// Log event ids are a contract like metric names (operators filter and alert on them): every <c>[LoggerMessage]</c>
/// of the server's assemblies has its own id. Two subsystems once both logged 7001–7004 (media uploads and directory
/// imports), and two background services 5701.
/// </summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void EveryLoggerMessage_EventId_IsUsedByNoOtherMessage()
    {
        var messages = ServerAssemblies()
            .SelectMany(Types)
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Select(m => (Method: $"{m.DeclaringType!.FullName}.{m.Name}", Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(m => m.Attribute is not null)
            .ToList();

        // The server's assemblies were all loaded and they do log (the gateway, the push pipeline, media, the directory).
        Assert.True(messages.Count >= 50, $"only {messages.Count} [LoggerMessage] methods found");
        Assert.Contains(messages, m => m.Method.StartsWith("Parley.OrgDirectory.", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Method.StartsWith("Parley.Media.", StringComparison.Ordinal));

        var collisions = messages
            .Where(m => m.Attribute!.EventId > 0)
            .GroupBy(m => m.Attribute!.EventId)
            .Where(g => g.Select(m => m.Method).Distinct(StringComparer.Ordinal).Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method).Distinct(StringComparer.Ordinal))}")
            .ToList();
        Assert.Empty(collisions); // each entry: "id: the methods that use it"
    }

    private static IEnumerable<Assembly> ServerAssemblies() =>
        System.IO.Directory.GetFiles(AppContext.BaseDirectory, "Parley.*.dll")
            .Select(Path.GetFileNameWithoutExtension)
            .Where(name => !name!.EndsWith("Tests", StringComparison.Ordinal))
            .Select(name => Assembly.Load(name!));

    private static IEnumerable<Type> Types(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException ex)
        {
            return ex.Types.OfType<Type>();
        }
    }
}
