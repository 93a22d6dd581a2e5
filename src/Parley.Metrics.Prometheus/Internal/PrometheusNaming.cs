using System.Globalization;
using System.Text;

namespace Parley.Metrics.Prometheus.Internal;

/// <summary>OpenTelemetry → Prometheus name conversion (metric names, units, label names).</summary>
internal static class PrometheusNaming
{
    private static readonly Dictionary<string, string> Units = new(StringComparer.Ordinal)
    {
        ["d"] = "days",
        ["h"] = "hours",
        ["min"] = "minutes",
        ["s"] = "seconds",
        ["ms"] = "milliseconds",
        ["us"] = "microseconds",
        ["ns"] = "nanoseconds",
        ["By"] = "bytes",
        ["KiBy"] = "kibibytes",
        ["MiBy"] = "mebibytes",
        ["GiBy"] = "gibibytes",
        ["TiBy"] = "tebibytes",
        ["KBy"] = "kilobytes",
        ["MBy"] = "megabytes",
        ["GBy"] = "gigabytes",
        ["TBy"] = "terabytes",
        ["m"] = "meters",
        ["V"] = "volts",
        ["A"] = "amperes",
        ["J"] = "joules",
        ["W"] = "watts",
        ["g"] = "grams",
        ["Cel"] = "celsius",
        ["Hz"] = "hertz",
        ["%"] = "percent",
    };

    private static readonly Dictionary<string, string> PerUnits = new(StringComparer.Ordinal)
    {
        ["s"] = "second",
        ["m"] = "minute",
        ["h"] = "hour",
        ["d"] = "day",
        ["w"] = "week",
        ["mo"] = "month",
        ["y"] = "year",
    };

    /// <summary>Builds the metric family name: sanitised name, unit suffix, and <c>_total</c> for counters.</summary>
    public static string MetricName(string instrumentName, string? unit, MetricKind kind)
    {
        var name = Sanitize(instrumentName, allowColon: true);
        var isCounter = kind == MetricKind.Counter;
        if (isCounter && name.EndsWith("_total", StringComparison.Ordinal))
        {
            name = name[..^"_total".Length];
        }

        var suffix = UnitSuffix(unit, kind);
        if (suffix.Length > 0 && !name.EndsWith("_" + suffix, StringComparison.Ordinal) && name != suffix)
        {
            name = name.Length == 0 || name[^1] == '_' ? name + suffix : name + "_" + suffix;
        }

        if (isCounter)
        {
            name += "_total";
        }
        return name;
    }

    /// <summary>Converts a UCUM unit to the Prometheus suffix; empty when the unit adds nothing.</summary>
    public static string UnitSuffix(string? unit, MetricKind kind)
    {
        if (string.IsNullOrWhiteSpace(unit))
        {
            return "";
        }

        // Annotations in braces ("{request}", "By{packet}") carry no unit.
        var stripped = StripAnnotations(unit).Trim();
        if (stripped.Length == 0)
        {
            return "";
        }
        if (stripped == "1")
        {
            return kind == MetricKind.Gauge ? "ratio" : "";
        }

        var slash = stripped.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            var left = stripped[..slash];
            var right = stripped[(slash + 1)..];
            var leftName = left.Length == 0 ? "" : Units.GetValueOrDefault(left, left);
            var rightName = PerUnits.GetValueOrDefault(right, Units.GetValueOrDefault(right, right));
            var combined = leftName.Length == 0 ? "per_" + rightName : leftName + "_per_" + rightName;
            return Sanitize(combined, allowColon: false).Trim('_');
        }

        return Sanitize(Units.GetValueOrDefault(stripped, stripped), allowColon: false).Trim('_');
    }

    /// <summary>Makes a valid label name: invalid characters become '_', a leading digit gets "key_".</summary>
    public static string LabelName(string key)
    {
        if (key.Length == 0)
        {
            return "key_";
        }
        var chars = key.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (!char.IsAsciiLetterOrDigit(chars[i]))
            {
                chars[i] = '_';
            }
        }
        var name = new string(chars);
        if (char.IsAsciiDigit(name[0]))
        {
            return "key_" + name;
        }
        // Names starting with "__" are reserved for Prometheus' own use.
        return name.StartsWith("__", StringComparison.Ordinal) ? "key" + name : name;
    }

    /// <summary>Replaces characters outside [a-zA-Z0-9_:] by '_', collapses runs of '_', guards a leading digit.</summary>
    public static string Sanitize(string value, bool allowColon)
    {
        var sb = new StringBuilder(value.Length + 1);
        foreach (var c in value)
        {
            var ok = char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':');
            var next = ok ? c : '_';
            if (next == '_' && sb.Length > 0 && sb[^1] == '_')
            {
                continue;
            }
            sb.Append(next);
        }
        if (sb.Length == 0)
        {
            return "_";
        }
        if (char.IsAsciiDigit(sb[0]))
        {
            sb.Insert(0, '_');
        }
        return sb.ToString();
    }

    private static string StripAnnotations(string unit)
    {
        if (!unit.Contains('{', StringComparison.Ordinal))
        {
            return unit;
        }
        var sb = new StringBuilder(unit.Length);
        var depth = 0;
        foreach (var c in unit)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}')
            {
                depth = Math.Max(0, depth - 1);
            }
            else if (depth == 0)
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    /// <summary>Formats a sample value as the text format expects.</summary>
    public static string FormatDouble(double value)
    {
        if (double.IsPositiveInfinity(value))
        {
            return "+Inf";
        }
        if (double.IsNegativeInfinity(value))
        {
            return "-Inf";
        }
        return double.IsNaN(value) ? "NaN" : value.ToString("R", CultureInfo.InvariantCulture);
    }

    /// <summary>Escapes a label value: backslash, double quote and line feed.</summary>
    public static void AppendEscapedLabelValue(StringBuilder sb, string value)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    sb.Append(@"\\");
                    break;
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\n':
                    sb.Append(@"\n");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }
    }

    /// <summary>Escapes HELP text: backslash and line feed.</summary>
    public static string EscapeHelp(string value) =>
        value.Replace(@"\", @"\\", StringComparison.Ordinal).Replace("\n", @"\n", StringComparison.Ordinal);

    /// <summary>Renders a tag set as sorted, escaped label pairs without braces: <c>a="1",b="2"</c>.</summary>
    public static string FormatLabels(in TagKey key)
    {
        if (key.Count == 0)
        {
            return "";
        }

        // Two tags may sanitise to the same label name; OpenTelemetry joins their values with ';'.
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < key.Count; i++)
        {
            var tag = key[i];
            var name = LabelName(tag.Key);
            var value = FormatTagValue(tag.Value);
            labels[name] = labels.TryGetValue(name, out var existing) ? existing + ";" + value : value;
        }

        var sb = new StringBuilder();
        foreach (var (name, value) in labels)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }
            sb.Append(name).Append("=\"");
            AppendEscapedLabelValue(sb, value);
            sb.Append('"');
        }
        return sb.ToString();
    }

    private static string FormatTagValue(object? value) => value switch
    {
        null => "",
        string s => s,
        bool b => b ? "true" : "false",
        double d => FormatDouble(d),
        float f => FormatDouble(f),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>Prometheus metric type of an instrument.</summary>
internal enum MetricKind
{
    Counter,
    Gauge,
    Histogram,
}
