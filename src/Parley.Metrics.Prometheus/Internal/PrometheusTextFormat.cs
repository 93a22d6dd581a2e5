using System.Text;

namespace Parley.Metrics.Prometheus.Internal;

/// <summary>Writes metric families in the text exposition format 0.0.4.</summary>
internal static class PrometheusTextFormat
{
    public static void Write(StringBuilder sb, IReadOnlyList<InstrumentState> instruments)
    {
        // A family may gather instruments of the same name from several meters; it is written once,
        // with the type and help of its first instrument. Instruments whose type disagrees are dropped,
        // since a scraper would reject the whole page.
        var families = new SortedDictionary<string, List<InstrumentState>>(StringComparer.Ordinal);
        foreach (var state in instruments)
        {
            if (!families.TryGetValue(state.Name, out var list))
            {
                families[state.Name] = list = [];
            }
            if (list.Count == 0 || list[0].Kind == state.Kind)
            {
                list.Add(state);
            }
        }

        foreach (var (name, members) in families)
        {
            var first = members[0];
            var help = members.Select(m => m.Instrument.Description).FirstOrDefault(d => !string.IsNullOrEmpty(d));
            if (help is not null)
            {
                sb.Append("# HELP ").Append(name).Append(' ').Append(PrometheusNaming.EscapeHelp(help)).Append('\n');
            }
            sb.Append("# TYPE ").Append(name).Append(' ').Append(TypeName(first.Kind)).Append('\n');
            foreach (var member in members)
            {
                member.WriteSeries(sb);
            }
        }
    }

    private static string TypeName(MetricKind kind) => kind switch
    {
        MetricKind.Counter => "counter",
        MetricKind.Histogram => "histogram",
        _ => "gauge",
    };
}
