using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Parley.Hosting.OpenApi;
using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

/// <summary>The OpenAPI document of the real server against the routes it really maps (EndpointDataSource).</summary>
public sealed partial class OpenApiTests
{
    private static readonly string[] ErrorStatuses = ["400", "401", "403", "404", "409", "413", "429"];

    [Fact]
    public async Task Document_DescribesEveryMappedAdminAndClientRoute_WithErrorShapes()
    {
        await using var server = await TestServer.StartAsync();
        using var response = await server.Admin.GetAsync(ParleyOpenApi.Path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var paths = document.RootElement.GetProperty("paths");

        var mapped = server.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>() is not null)
            .Select(e => (Path: Normalise(e.RoutePattern.RawText ?? string.Empty), Methods: e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods))
            .Where(e => ParleyOpenApi.DocumentedPrefixes.Any(p => e.Path.StartsWith(p, StringComparison.Ordinal)))
            .ToList();
        Assert.True(mapped.Count >= 40, $"only {mapped.Count} documented routes were found: the enumeration is broken");

        var documented = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var path in paths.EnumerateObject())
        {
            documented[Normalise(path.Name)] = path.Value;
        }

        var missing = new List<string>();
        foreach (var (path, methods) in mapped)
        {
            foreach (var method in methods.Where(m => m != "OPTIONS" && m != "HEAD"))
            {
                if (!documented.TryGetValue(path, out var item) || !item.TryGetProperty(method.ToLowerInvariant(), out var operation))
                {
                    missing.Add($"{method} {path}");
                    continue;
                }

                var responses = operation.GetProperty("responses");
                foreach (var status in ErrorStatuses)
                {
                    Assert.True(responses.TryGetProperty(status, out var errorResponse), $"{method} {path} does not describe {status}");
                    Assert.Equal("#/components/schemas/Error", errorResponse.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
                }
            }
        }

        Assert.True(missing.Count == 0, "mapped but missing from the OpenAPI document: " + string.Join(", ", missing));

        // Request shapes: a JSON body's schema names its properties.
        var createUser = documented["/admin/v1/users"].GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        var schemaName = createUser.GetProperty("$ref").GetString()!.Split('/')[^1];
        var schema = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty(schemaName);
        Assert.True(schema.GetProperty("properties").TryGetProperty("userId", out _), "CreateUserRequest has userId");
        var error = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("Error");
        Assert.True(error.GetProperty("properties").GetProperty("error").GetProperty("properties").TryGetProperty("code", out _));
        Assert.True(document.RootElement.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("bearer", out _));
    }

    [Fact]
    public async Task Document_NeedsAnAdminCredential()
    {
        await using var server = await TestServer.StartAsync();
        using var anonymous = new HttpClient { BaseAddress = server.BaseUri };
        using var response = await anonymous.GetAsync(ParleyOpenApi.Path);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    // "/admin/v1/users/{userId:int}/" -> "/admin/v1/users/{userId}"
    private static string Normalise(string pattern)
    {
        var path = "/" + pattern.Trim('/');
        return Constraint().Replace(path, "{$1}");
    }

    [GeneratedRegex(@"\{\*{0,2}([A-Za-z0-9_]+)[^}]*\}")]
    private static partial Regex Constraint();
}
