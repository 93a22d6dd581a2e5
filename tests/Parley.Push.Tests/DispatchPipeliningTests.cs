using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Parley.Abstractions.Push;
using Parley.Storage.Sqlite;
using Parley.Storage.Sqlite.Push;

namespace Parley.Push.Tests;

/// <summary>
/// Issue 17: a send loop writes the results of the batch it sent with the claims of its next batch (one journal write).
/// What must hold: every push settles to its own answer, none is sent twice, and at no point are more pushes claimed and
/// unsettled than one batch per loop (the bound the kill -9 test relies on).
/// </summary>
public sealed class DispatchPipeliningTests
{
    [Fact]
    public async Task ConsecutiveBatches_ResultsWrittenWithTheNextClaims_EachPushItsOwnOutcome_OneBatchUnsettledAtMost()
    {
        var log = new JournalLog();
        await using var h = await PushHarness.StartAsync(
            o =>
            {
                o.Workers = 2;
                o.DispatchBatch = 2; // one send loop of two
            },
            s => JournalRecorder.Register(s, log));
        h.Xiaomi.DelayAll = TimeSpan.FromMilliseconds(150); // the next batches are due long before an answer comes
        var recipients = new List<PushRecipient>();
        for (var i = 0; i < 7; i++)
        {
            await h.Devices.UpsertAsync(PushHarness.Device("u" + i, "phone", PushVendor.Xiaomi, "regid-" + i));
            recipients.Add(new PushRecipient("u" + i, 1));
        }

        h.Xiaomi.InvalidTokens["regid-2"] = true; // MiPush answers ok with bad_regids = this one
        h.Xiaomi.InvalidTokens["regid-5"] = true;

        var r = await h.Pipeline.SubmitAsync(PushHarness.Im("m1", "c-m1", [.. recipients]));
        Assert.Equal(7, r.AcceptedPushIds.Count);
        var rows = r.Rows!.ToDictionary(x => x.PushId, x => x.UserId);
        foreach (var id in r.AcceptedPushIds)
        {
            await h.WaitForStateAsync(id, rows[id] is "u2" or "u5" ? PushState.InvalidToken : PushState.Accepted);
        }

        Assert.Equal(7, h.Xiaomi.RequestsByPushId.Count);
        Assert.All(h.Xiaomi.RequestsByPushId, kv => Assert.Equal(1, kv.Value));

        var calls = log.Snapshot();
        Assert.Contains(calls, c => c.Changes.Count > 0 && c.Claims.Count > 0); // a batch's results went with the next claims
        var unsettled = new HashSet<string>(StringComparer.Ordinal);
        foreach (var call in calls)
        {
            foreach (var change in call.Changes)
            {
                unsettled.Remove(change);
            }

            unsettled.UnionWith(call.Claims);
            Assert.True(unsettled.Count <= 2, $"{unsettled.Count} pushes claimed and unsettled after a write; at most one batch (2)");
        }

        Assert.Empty(unsettled);
    }

    /// <summary>The journal's writes in the order they were queued: the push ids changed, then the push ids claimed.</summary>
    internal sealed class JournalLog
    {
        private readonly List<(List<string> Changes, List<string> Claims)> _calls = [];

        public void Add(IEnumerable<PushStateChange> changes, IEnumerable<PushClaim> claims)
        {
            lock (_calls)
            {
                _calls.Add(([.. changes.Select(c => c.PushId)], [.. claims.Select(c => c.PushId)]));
            }
        }

        public List<(List<string> Changes, List<string> Claims)> Snapshot()
        {
            lock (_calls)
            {
                return [.. _calls];
            }
        }

        private readonly List<int> _appends = [];

        /// <summary>Rows per <see cref="IPushJournal.AppendAsync"/> call, in call order.</summary>
        public void Appended(int rows)
        {
            lock (_appends)
            {
                _appends.Add(rows);
            }
        }

        public List<int> Appends()
        {
            lock (_appends)
            {
                return [.. _appends];
            }
        }

        public void ClearAppends()
        {
            lock (_appends)
            {
                _appends.Clear();
            }
        }
    }

#pragma warning disable CA1852 // DispatchProxy derives from it: it must not be sealed
    internal class JournalRecorder : DispatchProxy
#pragma warning restore CA1852
    {
        private IPushJournal _target = null!;
        private JournalLog _log = null!;

        /// <summary>The harness's SQLite journal, recorded into <paramref name="log"/>.</summary>
        public static void Register(IServiceCollection services, JournalLog log) =>
            services.AddSingleton<IPushJournal>(sp => Wrap(new SqlitePushJournal(sp.GetRequiredService<SqliteDatabase>()), log));

        public static IPushJournal Wrap(IPushJournal target, JournalLog log)
        {
            var proxy = Create<IPushJournal, JournalRecorder>();
            var self = (JournalRecorder)(object)proxy;
            self._target = target;
            self._log = log;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            switch (targetMethod!.Name)
            {
                case nameof(IPushJournal.UpdateStatesAndClaimManyAsync):
                    _log.Add((IReadOnlyList<PushStateChange>)args![0]!, (IReadOnlyList<PushClaim>)args[1]!);
                    break;
                case nameof(IPushJournal.UpdateStatesAsync):
                    _log.Add((IReadOnlyList<PushStateChange>)args![0]!, []);
                    break;
                case nameof(IPushJournal.UpdateStateAsync):
                    _log.Add([new PushStateChange((string)args![0]!, (PushState)args[1]!, 0, 0, null, null)], []);
                    break;
                case nameof(IPushJournal.ClaimManyAsync):
                    _log.Add([], (IReadOnlyList<PushClaim>)args![0]!);
                    break;
                case nameof(IPushJournal.AppendAsync):
                    _log.Appended(((IReadOnlyList<PushRecord>)args![0]!).Count);
                    break;
                case nameof(IPushJournal.ClaimAsync):
                    _log.Add([], [new PushClaim((string)args![0]!, (int)args[2]!)]);
                    break;
            }

            try
            {
                return targetMethod.Invoke(_target, args);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                throw ex.InnerException;
            }
        }
    }
}
