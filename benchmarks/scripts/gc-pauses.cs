// gc-pauses <trace.nettrace>: used by step-metrics.sh (GCTRACE=1); built outside the repository (a console project with TraceEvent
// 3.1.21 and this file as Program.cs, in /tmp/parley-gc-pauses).
// gc-pauses <trace.nettrace>: every GC's pause (SuspendEE start -> RestartEE end), split into the suspension (SuspendEE start
// -> stop: every thread brought to a safe point), the GC itself (GCStart -> GCEnd) and the rest; its generation, type and
// reason. From an EventPipe trace with the runtime's GC keyword at informational level
// (dotnet-trace collect --clrevents gc --clreventlevel informational). gc-pauses <trace> --utc: each pause's start also as UTC
// epoch seconds (the trace's wall clock, ~1 ms), so stall-timeline.py can put the pauses on CLOCK_MONOTONIC.
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
using var source = new EventPipeEventSource(args[0]);
double suspend = -1, suspended = -1, gcStart = -1, gcEnd = -1, promoted = 0; var pauses = new List<(double At, double Ms, double Susp, double Gc, string What, double PromotedMB)>();
var utc = args.Length > 1 && args[1] == "--utc"; var epochs = new List<double>();
string what = "";
source.Clr.GCStart += e => { what = $"gen{e.Depth} {e.Type} {e.Reason}"; gcStart = e.TimeStampRelativeMSec; };
source.Clr.GCStop += e => gcEnd = e.TimeStampRelativeMSec;
source.Clr.GCHeapStats += e => promoted = (e.TotalPromotedSize0 + e.TotalPromotedSize1) / 1048576.0;
source.Clr.GCSuspendEEStart += e => { suspend = e.TimeStampRelativeMSec; gcStart = gcEnd = -1; if (utc) epochs.Add((e.TimeStamp.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds); };
source.Clr.GCSuspendEEStop += e => suspended = e.TimeStampRelativeMSec;
source.Clr.GCRestartEEStop += e =>
{
    if (suspend >= 0)
    {
        pauses.Add((suspend, e.TimeStampRelativeMSec - suspend, suspended - suspend, gcStart >= 0 && gcEnd >= gcStart ? gcEnd - gcStart : 0, what, promoted));
        promoted = 0;
        suspend = -1; what = "";
    }
};
source.Process();
for (var i = 0; i < pauses.Count; i++) { var p = pauses[i]; Console.WriteLine($"{(utc ? $"utc {epochs[i]:F6} " : "")}{p.At / 1000,9:F3} s pause {p.Ms,8:F2} ms (suspend {p.Susp,7:F2}, gc {p.Gc,7:F2}) promoted {p.PromotedMB,6:F1} MB {p.What}"); }
var ms = pauses.Select(p => p.Ms).OrderBy(x => x).ToList();
if (ms.Count > 0)
{
    double Q(double q) => ms[Math.Min(ms.Count - 1, (int)(q * ms.Count))];
    var span = (pauses[^1].At - pauses[0].At) / 1000;
    Console.WriteLine($"pauses {ms.Count} over {span:F1} s: total {ms.Sum():F1} ms (suspension {pauses.Sum(p => p.Susp):F1}), mean {ms.Average():F2}, p50 {Q(.5):F2}, p90 {Q(.9):F2}, p99 {Q(.99):F2}, max {ms[^1]:F2} ms");
    foreach (var g in pauses.GroupBy(p => string.Join(' ', p.What.Split(' ').Take(2))).OrderBy(g => g.Key))
        Console.WriteLine($"  {g.Key}: {g.Count()} pauses, total {g.Sum(p => p.Ms):F1} ms, max {g.Max(p => p.Ms):F2} ms, suspension total {g.Sum(p => p.Susp):F1} ms, promoted {g.Sum(p => p.PromotedMB):F1} MB (max {g.Max(p => p.PromotedMB):F1})");
}
