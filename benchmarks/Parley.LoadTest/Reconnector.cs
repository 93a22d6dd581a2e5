using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Parley.LoadTest;

/// <summary>
/// --reconnect (the cluster kill run, issue 11): what a client does when its node dies. Each connection slot is watched;
/// when its connection ends while the scenario runs, the slot connects to the next node (after a 4012 resync first to the
/// same one; jittered back-off from 100 ms to 2 s, 30 s a try), resumes from the old connection's cursor (the sync's messages count as deliveries), takes the old
/// one's place in the array the senders use, and resends the slot's unanswered sends under the same request and client
/// message id. The time from the end of the old connection to the new one's SyncComplete is recorded per reconnect.
/// </summary>
internal sealed class Reconnector(TargetProcess target, LeanConnection[] connections, string prefix, string[] tokens, TextWriter log) : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Reconnect> _done = new();
    private readonly int[] _nodeOffset = new int[connections.Length];
    private Task[] _watchers = [];
    private int _resyncs;

    internal readonly record struct Reconnect(int Slot, DateTime EndedUtc, DateTime SyncedUtc, double Ms, int Attempts, int Resent, string? CloseInfo);

    public IReadOnlyCollection<Reconnect> Done => _done;

    public void Dispose() => _stop.Dispose();

    public void Start() => _watchers = [.. Enumerable.Range(0, connections.Length).Select(i => Task.Run(() => WatchAsync(i)))];

    /// <summary>Stops watching (before the scenario disposes its connections) and writes what was reconnected.</summary>
    public async Task StopAsync(string outFile)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_watchers).ConfigureAwait(false);
        var all = _done.OrderBy(r => r.EndedUtc).ToList();
        await File.WriteAllLinesAsync(outFile, all.Select(r => string.Create(CultureInfo.InvariantCulture,
            $"slot {r.Slot} ended {r.EndedUtc:HH:mm:ss.fff} ({r.CloseInfo}) synced {r.SyncedUtc:HH:mm:ss.fff} after {r.Ms:F0} ms, {r.Attempts} attempt(s), {r.Resent} resent"))).ConfigureAwait(false);
        if (all.Count > 0)
        {
            var ms = all.Select(r => r.Ms).Order().ToList();
            await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"reconnects {all.Count} ({Volatile.Read(ref _resyncs)} after a 4012 resync): first ended {all[0].EndedUtc:HH:mm:ss.fff}, last synced {all.Max(r => r.SyncedUtc):HH:mm:ss.fff}; end→sync p50 {ms[ms.Count / 2]:F0} ms, max {ms[^1]:F0} ms; attempts max {all.Max(r => r.Attempts)}; resent {all.Sum(r => r.Resent)} ({outFile})")).ConfigureAwait(false);
        }
        else
        {
            await log.WriteLineAsync("reconnects 0").ConfigureAwait(false);
        }
    }

    private async Task WatchAsync(int slot)
    {
        while (!_stop.IsCancellationRequested)
        {
            var old = connections[slot];
            try
            {
                await old.Ended.WaitAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var endedUtc = DateTime.UtcNow;
            var ended = Stopwatch.GetTimestamp();
            var delay = TimeSpan.FromMilliseconds(100);
            // A resync (4012: the server closed a gap in its live versions) resumes on the same node first, as the SDKs
            // do; any other end (the node died, an idle close) moves to the next node.
            var resync = old.CloseInfo?.StartsWith("closed 4012", StringComparison.Ordinal) == true;
            for (var attempt = 1; !_stop.IsCancellationRequested; attempt++)
            {
                if (!(resync && attempt == 1))
                {
                    _nodeOffset[slot]++;
                }

                var node = slot + _nodeOffset[slot];
                try
                {
                    var fresh = await LeanConnection.ConnectAsync(target.WebSocketUrlFor(node), slot, prefix + slot, tokens[slot], TimeSpan.FromSeconds(30), old.Cursor, old.Sink).ConfigureAwait(false);
                    var ms = Stopwatch.GetElapsedTime(ended).TotalMilliseconds;
                    connections[slot] = fresh;
                    fresh.Sink = old.Sink; // a step that began meanwhile set its ledger on the old one
                    var resent = 0;
                    if (fresh.Sink is StepLedger ledger)
                    {
                        foreach (var frame in ledger.TakeForResend(slot))
                        {
                            await fresh.SendAsync(frame).ConfigureAwait(false);
                            resent++;
                        }
                    }

                    _done.Enqueue(new Reconnect(slot, endedUtc, DateTime.UtcNow, ms, attempt, resent, old.CloseInfo));
                    if (resync)
                    {
                        Interlocked.Increment(ref _resyncs);
                    }

                    old.Abandon();
                    break;
                }
                catch (Exception ex) when (ex is InvalidOperationException or System.Net.WebSockets.WebSocketException or OperationCanceledException or IOException or HttpRequestException)
                {
                    if (_stop.IsCancellationRequested)
                    {
                        return;
                    }

                    try
                    {
                        await Task.Delay(delay * (0.5 + Random.Shared.NextDouble()), _stop.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    delay = TimeSpan.FromMilliseconds(Math.Min(2000, delay.TotalMilliseconds * 2));
                }
            }
        }
    }
}
