using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace Parley.Cli.Internal;

/// <summary>Prints a result: the server's JSON as is with <c>--json</c> (for scripts), else a table or key/value lines.</summary>
internal sealed class Output(bool json)
{
    public bool Json { get; } = json;

    public void Print(JsonElement value, Action<JsonElement> human)
    {
        if (Json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(value, CliJsonContext.Default.JsonElement));
        }
        else
        {
            human(value);
        }
    }

    /// <summary>A table of <paramref name="rows"/> with the given columns (property names of each row object).</summary>
    public static void Table(IEnumerable<JsonElement> rows, params string[] columns)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            table.AddColumn(new TableColumn(Markup.Escape(column)).NoWrap());
        }

        var count = 0;
        foreach (var row in rows)
        {
            table.AddRow(columns.Select(c => Markup.Escape(Cell(row, c))).ToArray());
            count++;
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(CultureInfo.InvariantCulture, "[grey]{0} row(s)[/]", count);
    }

    /// <summary>
    /// One page of a paged admin list (<c>{"items": [...], "next": ...}</c>) as a table, and the <c>--after</c> value
    /// of the next page when there is one.
    /// </summary>
    public static void Page(JsonElement page, params string[] columns)
    {
        Table(page.GetProperty("items").EnumerateArray(), columns);
        if (page.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.String)
        {
            AnsiConsole.MarkupLine("[grey]more: --after " + Markup.Escape(next.GetString()!) + "[/]");
        }
    }

    /// <summary>One object as "name: value" lines.</summary>
    public static void Fields(JsonElement value)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        foreach (var property in value.EnumerateObject())
        {
            grid.AddRow(new Markup("[bold]" + Markup.Escape(property.Name) + "[/]"), new Text(Cell(value, property.Name)));
        }

        AnsiConsole.Write(grid);
    }

    public static string Cell(JsonElement row, string name)
    {
        if (row.ValueKind != JsonValueKind.Object || !row.TryGetProperty(name, out var v))
        {
            return string.Empty;
        }

        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString() ?? string.Empty,
            JsonValueKind.Null or JsonValueKind.Undefined => string.Empty,
            JsonValueKind.Number when IsTime(name) && v.TryGetInt64(out var ms) && ms > 0 =>
                DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            JsonValueKind.Array => string.Join(", ", v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText())),
            _ => v.GetRawText(),
        };
    }

    private static bool IsTime(string name) =>
        name.EndsWith("At", StringComparison.Ordinal) || name is "at" or "since" or "until" or "now";
}
