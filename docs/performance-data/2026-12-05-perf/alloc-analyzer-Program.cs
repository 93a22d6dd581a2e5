using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
var path = args[0];
int depth = args.Length > 1 ? int.Parse(args[1]) : 12;
var etlx = TraceLog.CreateFromEventPipeDataFile(path);
using var log = new TraceLog(etlx);
var byType = new Dictionary<string, double>();
var byFrame = new Dictionary<string, double>();   // inclusive, Parley/interesting frames
var byStack = new Dictionary<string, double>();
double total = 0;
foreach (var ev in log.Events)
{
    if (ev is not GCAllocationTickTraceData a) continue;
    double bytes = a.AllocationAmount64;
    total += bytes;
    byType[a.TypeName ?? "?"] = byType.GetValueOrDefault(a.TypeName ?? "?") + bytes;
    var cs = ev.CallStack();
    var seen = new HashSet<string>();
    var frames = new List<string>();
    for (var s = cs; s != null; s = s.Caller)
    {
        var m = s.CodeAddress.FullMethodName;
        if (string.IsNullOrEmpty(m)) m = s.CodeAddress.ModuleName + "!?";
        frames.Add(m);
        if (seen.Add(m)) byFrame[m] = byFrame.GetValueOrDefault(m) + bytes;
    }
    var key = (a.TypeName ?? "?") + " <= " + string.Join(" <= ", frames.Take(depth).Select(f => f.Length > 110 ? f[..110] : f));
    byStack[key] = byStack.GetValueOrDefault(key) + bytes;
}
Console.WriteLine($"total sampled {total/1e6:F1} MB");
Console.WriteLine("== by type");
foreach (var kv in byType.OrderByDescending(k => k.Value).Take(40)) Console.WriteLine($"{100*kv.Value/total,6:F2}%  {kv.Key}");
Console.WriteLine("== by frame (inclusive)");
foreach (var kv in byFrame.OrderByDescending(k => k.Value).Take(120)) Console.WriteLine($"{100*kv.Value/total,6:F2}%  {(kv.Key.Length>160?kv.Key[..160]:kv.Key)}");
Console.WriteLine("== by stack");
foreach (var kv in byStack.OrderByDescending(k => k.Value).Take(60)) Console.WriteLine($"{100*kv.Value/total,6:F2}%  {kv.Key}\n");
