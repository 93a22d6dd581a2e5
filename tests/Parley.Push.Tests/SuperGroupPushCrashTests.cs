using Npgsql;
using Parley.Protocol.V1;
using Parley.Sdk;
using Xunit.Abstractions;
using JournalRow = Parley.Push.Tests.PushServerProcesses.JournalRow;

namespace Parley.Push.Tests;

/// <summary>
/// A super group's @all fan-out is a durable job (docs/push.md §8, issue 12) with a lease and the last member done. Here
/// the real server process is killed (SIGKILL: no shutdown, so the job is not released) in the middle of the fan-out:
/// the job stays held by the dead process until its lease runs out; the restarted server then claims it and goes on
/// after the last finished page. Every member is pushed once: no member is lost, no push id reaches FCM twice (a push
/// caught mid-request by the kill is dead-lettered unknown_after_crash, as every FCM push in flight at a crash is; the
/// members after the job's cursor are all pushed by the restarted server).
/// It runs on SQLite and, where the test script provides it, on PostgreSQL (the job store of both passes the compliance
/// suite; this is the server's use of it).
/// </summary>
public sealed class SuperGroupPushCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Members = 10;
    private readonly ServerData _data = new("sgcrash");

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _data.DisposeAsync().AsTask();

    [Fact]
    public Task MentionAll_ServerKilledMidFanOut_RestartTakesTheJobOverAfterItsLease_ResumesAfterTheLastFinishedPage_EveryMemberPushedOnce() =>
        KilledMidFanOutAsync(new SqliteRows(_data));

    [PostgresFact]
    public Task MentionAll_OnPostgres_ServerKilledMidFanOut_RestartTakesTheJobOverAfterItsLease_EveryMemberPushedOnce() =>
        KilledMidFanOutAsync(new PostgresRows(_data.Schema));

    private async Task KilledMidFanOutAsync(IRows store)
    {
        await using var fcm = await PushServerProcesses.StartFcmAsync();
        await using var server = _data.CreateServer(store.OnPostgres);

        PushServerProcesses.UseFcm(server, fcm);
        server.Settings["Parley__Push__SuperGroupDigestInterval"] = "00:00:00";
        server.Settings["Parley__Push__SuperGroupFanOutChunkSize"] = "1";
        server.Settings["Parley__Push__SuperGroupFanOutChunkInterval"] = "00:00:00.500";
        server.Settings["Parley__Push__SuperGroupFanOutLease"] = "00:00:03";
        server.Settings["Parley__RateLimits__Enabled"] = "false";
        await server.StartAsync();

        // A super group of an online owner and offline members with one FCM phone each.
        var owner = "owner";
        var members = Enumerable.Range(0, Members).Select(i => $"m{i:00}").ToList();
        foreach (var user in members.Prepend(owner))
        {
            await server.CreateUserAsync(user);
        }

        var ownerClient = await server.ConnectAsync(owner, _data.Clients, sendTimeout: TimeSpan.FromSeconds(60));
        var created = await ownerClient.CreateGroupAsync(new CreateGroupRequest { Name = "Town hall", Kind = GroupKind.Super, MemberIds = { members } });
        foreach (var member in members)
        {
            await PushServerProcesses.RegisterOfflinePhoneAsync(server, member, _data.Clients);
        }

        var all = await ownerClient.SendAsync(
            new Target { ConversationId = created.ConversationId },
            new Content { Text = new TextContent { Text = "@all fire drill", MentionAll = true } });
        var messageId = all.ServerMsgId;

        // One member a page, half a second between pages: kill the process once two members are journaled.
        await Wait.UntilAsync(() => store.Journal(messageId).Count >= 2, () => $"the @all fan-out to be under way ({store.Journal(messageId).Count} journaled)", TimeSpan.FromSeconds(60));
        await server.KillAsync();

        var before = store.Journal(messageId);
        var job = store.Job();
        output.WriteLine($"killed with {before.Count} of {Members} journaled; job after '{job?.After}', owner '{job?.Owner}'");
        Assert.True(job is not null, $"the @all job should still be queued after the kill ({before.Count} of {Members} journaled)");
        Assert.InRange(before.Count, 2, Members - 1);

        // Not released (the process died), and its cursor is a finished page: every member up to it is journaled.
        Assert.NotEqual(string.Empty, job.Owner);
        Assert.NotEqual(string.Empty, job.After);
        var upToCursor = members.Where(m => string.CompareOrdinal(m, job.After) <= 0).ToList();
        Assert.NotEmpty(upToCursor);
        Assert.All(upToCursor, m => Assert.Contains(m, before.Select(r => r.UserId)));

        // The restarted server claims the dead owner's job once its lease ran out and finishes it.
        await server.StartAsync();
        await Wait.UntilAsync(
            () => store.Job() is null && store.Journal(messageId) is { Count: Members } rows && rows.All(r => r.State is not (0 or 1)),
            () => $"the restarted server to finish the @all job (job {store.Job()}; journal {string.Join(", ", store.Journal(messageId).Select(r => $"{r.UserId}:{r.State}"))})",
            TimeSpan.FromSeconds(90));

        // Every member exactly one push row; the ones after the cursor were written by the restarted server.
        var after = store.Journal(messageId);
        Assert.Equal(members, after.Select(r => r.UserId).Order(StringComparer.Ordinal).ToList());
        var resumed = after.Where(r => before.All(b => b.PushId != r.PushId)).ToList();
        Assert.NotEmpty(resumed);
        Assert.All(resumed, r => Assert.True(string.CompareOrdinal(r.UserId, job.After) > 0, $"{r.UserId} was pushed after the restart although the killed server had finished its page ({job.After})"));

        // Nobody pushed twice: no push id reached FCM twice.
        Assert.All(fcm.RequestsByPushId, kv => Assert.True(kv.Value == 1, $"push {kv.Key} reached FCM {kv.Value} times"));

        // Each push accepted by FCM, or dead-lettered unknown_after_crash because the kill caught it mid-request: only
        // pushes the killed process had journaled and was sending then (the pipeline's rule for a vendor without a
        // de-duplication key), never one of the resumed job's.
        var sendingAtKill = before.Where(r => r.State == 1).Select(r => r.PushId).ToHashSet(StringComparer.Ordinal);
        var deadLetters = after.Where(r => r.State == 5).ToList();
        Assert.All(deadLetters, r => Assert.Equal("unknown_after_crash", r.Reason));
        Assert.All(deadLetters, r => Assert.True(sendingAtKill.Contains(r.PushId), $"{r.UserId}'s push was dead-lettered but was not mid-request at the kill"));
        Assert.All(after.Where(r => r.State != 5), r => Assert.Equal(2, r.State));
        Assert.All(after.Where(r => r.State == 2), r => Assert.True(fcm.RequestsByPushId.ContainsKey(r.PushId), $"accepted push {r.PushId} ({r.UserId}) never reached FCM"));
        Assert.All(resumed, r => Assert.Equal(2, r.State));
        output.WriteLine($"{after.Count(r => r.State == 2)} accepted, {deadLetters.Count} dead-lettered (mid-request at the kill), {resumed.Count} pushed by the restarted server");
    }

    /// <summary>The journal and job rows, read straight from the store the server writes.</summary>
    private interface IRows
    {
        bool OnPostgres { get; }

        List<JournalRow> Journal(string messageId);

        JobRow? Job();
    }

    private sealed class SqliteRows(ServerData data) : IRows
    {
        public bool OnPostgres => false;

        public List<JournalRow> Journal(string messageId)
        {
            using var connection = data.OpenSqlite();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT push_id, user_id, state, reason, owner FROM push_journal WHERE message_id = $m ORDER BY user_id;";
            command.Parameters.AddWithValue("$m", messageId);
            using var reader = command.ExecuteReader();
            var rows = new List<JournalRow>();
            while (reader.Read())
            {
                rows.Add(new JournalRow(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4)));
            }

            return rows;
        }

        public JobRow? Job()
        {
            using var connection = data.OpenSqlite();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT after_user, owner FROM super_push_jobs WHERE kind = 1;";
            using var reader = command.ExecuteReader();
            return reader.Read() ? new JobRow(reader.GetString(0), reader.GetString(1)) : null;
        }
    }

    private sealed class PostgresRows(string schema) : IRows
    {
        public bool OnPostgres => true;

        public List<JournalRow> Journal(string messageId) => PushServerProcesses.PostgresJournal(schema, messageId);

        public JobRow? Job()
        {
            using var connection = ServerData.OpenPostgres();
            using var command = new NpgsqlCommand($"SELECT after_user, owner FROM \"{schema}\".super_push_jobs WHERE kind = 1", connection);
            using var reader = command.ExecuteReader();
            return reader.Read() ? new JobRow(reader.GetString(0), reader.GetString(1)) : null;
        }
    }

    private sealed record JobRow(string After, string Owner);
}
