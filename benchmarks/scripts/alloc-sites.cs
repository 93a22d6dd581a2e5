// Allocation sites from an EventPipe trace with GC AllocationTick events (dotnet-trace --clrevents gc --clreventlevel verbose).
// Usage: alloc-sites <trace.nettrace> <KB per message by the server's counters over the trace> [depth]
// Built and run by alloc.sh (outside the repository: a console project with TraceEvent 3.1.21 and this file as Program.cs).
// Every AllocationTick sample stands for ~100 KB of allocation of its type; a site's share of the sampled bytes times the
// counters' KB per message is that site's KB per message.
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
var path = args[0];
double kbPerMsg = double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
int depth = args.Length > 2 ? int.Parse(args[2]) : 10;
var etlx = TraceLog.CreateFromEventPipeDataFile(path);
using var log = new TraceLog(etlx);
var byType = new Dictionary<string, double>();
var byFrame = new Dictionary<string, double>();
var bySite = new Dictionary<string, double>();
var byStack = new Dictionary<string, double>();
double total = 0; int samples = 0;
static string Short(string m) { var p = m.IndexOf('('); var s = p > 0 ? m[..p] : m; return s.Length > 120 ? s[..120] : s; }
static bool Ours(string m) => m.StartsWith("Parley.", StringComparison.Ordinal);
foreach (var ev in log.Events)
{
    if (ev is not GCAllocationTickTraceData a) continue;
    double bytes = a.AllocationAmount64; total += bytes; samples++;
    var type = a.TypeName ?? "?";
    byType[type] = byType.GetValueOrDefault(type) + bytes;
    var frames = new List<string>();
    for (var s = ev.CallStack(); s != null; s = s.Caller)
    {
        var m = s.CodeAddress.FullMethodName;
        frames.Add(string.IsNullOrEmpty(m) ? s.CodeAddress.ModuleName + "!?" : Short(m));
    }
    foreach (var m in frames.Distinct()) byFrame[m] = byFrame.GetValueOrDefault(m) + bytes;
    // Site: the type, the frames down to the innermost Parley frame (at most 4 framework frames above it), and that frame.
    var idx = frames.FindIndex(Ours);
    string site;
    if (idx < 0) site = type + " <= " + string.Join(" <= ", frames.Take(4));
    else site = type + " <= " + string.Join(" <= ", frames.Skip(Math.Max(0, idx - 3)).Take(Math.Min(idx, 3) + 2));
    bySite[site] = bySite.GetValueOrDefault(site) + bytes;
    var key = type + " <= " + string.Join(" <= ", frames.Take(depth));
    byStack[key] = byStack.GetValueOrDefault(key) + bytes;
}
var inv = System.Globalization.CultureInfo.InvariantCulture;
string Kb(double b) => (b / total * kbPerMsg).ToString("F3", inv);
Console.WriteLine($"samples {samples}, sampled {total / 1e6:F1} MB; counters: {kbPerMsg:F2} KB/msg; columns: % of sampled bytes, KB per message");
Console.WriteLine("== by type");
foreach (var kv in byType.OrderByDescending(k => k.Value).Take(40)) Console.WriteLine($"{100 * kv.Value / total,6:F2}% {Kb(kv.Value),7}  {kv.Key}");
Console.WriteLine("== by site (type <= frames down to the innermost Parley frame)");
foreach (var kv in bySite.OrderByDescending(k => k.Value).Take(60)) Console.WriteLine($"{100 * kv.Value / total,6:F2}% {Kb(kv.Value),7}  {kv.Key}");
Console.WriteLine("== by frame (inclusive)");
foreach (var kv in byFrame.OrderByDescending(k => k.Value).Take(150)) Console.WriteLine($"{100 * kv.Value / total,6:F2}% {Kb(kv.Value),7}  {kv.Key}");
Console.WriteLine("== by stack");
foreach (var kv in byStack.OrderByDescending(k => k.Value).Take(60)) Console.WriteLine($"{100 * kv.Value / total,6:F2}% {Kb(kv.Value),7}  {kv.Key}\n");
