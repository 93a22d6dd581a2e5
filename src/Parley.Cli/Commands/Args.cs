using System.CommandLine;

namespace Parley.Cli.Commands;

internal static class Args
{
    public static Argument<string> Required(string name, string description) => new(name) { Description = description };

    public static Option<string?> Text(string name, string description) => new(name) { Description = description };

    public static Option<int?> Number(string name, string description) => new(name) { Description = description };

    public static Command Command(string name, string description, params Symbol[] symbols)
    {
        var command = new Command(name, description);
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Argument argument:
                    command.Arguments.Add(argument);
                    break;
                case Option option:
                    command.Options.Add(option);
                    break;
                case Command sub:
                    command.Subcommands.Add(sub);
                    break;
            }
        }

        return command;
    }

    public static string Escape(string value) => Uri.EscapeDataString(value);

    public static string Query(params (string Name, object? Value)[] parameters)
    {
        var parts = parameters.Where(p => p.Value is not null && p.Value.ToString() != string.Empty)
            .Select(p => p.Name + "=" + Uri.EscapeDataString(Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture)!))
            .ToArray();
        return parts.Length == 0 ? string.Empty : "?" + string.Join('&', parts);
    }
}
