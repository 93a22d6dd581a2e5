using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Google.Protobuf;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.LoadTest;

/// <summary>
/// Scenario <c>supergroup</c> (issue 12, ADR 0017): a read-diffusion group of <c>--super-members</c> built through the
/// admin bulk API (import rate), storage growth per member, <c>--super-online</c> members on real connections with one
/// sender at <c>--super-rate</c> (delivered msg/s, p99, server CPU per message), then the resume of a user in
/// <c>--resume-groups</c> super groups of which <c>--resume-changed</c> changed (median of repeated resumes, against
/// a resume where nothing changed and the full first sync). Against the relay it runs the same online fan-out as an
/// ordinary group (the baseline of the run). With <c>--super-existing G --super-user-prefix P</c> it uses a group already
/// in the server's store instead (the benchmarks' <c>super-store</c> tool builds a 1,000,000-member channel in minutes,
/// where a million accounts through the admin API take 20–26): tokens for the online members only, the online step, the
/// server's RSS with the group loaded and with everyone online; no import, no resume.
/// </summary>
internal sealed partial class Runner
{
    private const int ResumeRepeats = 15;

    private async Task<StepResult> SuperGroupAsync(int run, TargetProcess target, AdminClient admin, string prefix)
    {
        var members = o.SuperMembers;
        var online = Math.Min(o.SuperOnline, members);
        if (target.Name == "relay")
        {
            return await GroupAsync(run, target, admin, prefix, "supergroup", online, online, [o.SuperRate]).ConfigureAwait(false);
        }

        using var http = new HttpClient { BaseAddress = target.BaseUrl, Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", target.AdminSecret);
        if (o.SuperExisting is { } existing)
        {
            return await ExistingSuperGroupAsync(run, target, admin, http, existing, o.SuperUserPrefix!).ConfigureAwait(false);
        }

        var clock = Stopwatch.StartNew();
        var tokens = await admin.CreateUsersAsync(prefix, members, online).ConfigureAwait(false);
        var accountsSeconds = clock.Elapsed.TotalSeconds;

        // The group starts with the online members; everyone else comes in through one bulk job.
        var groupId = prefix.TrimEnd('-') + "s";
        var (dbBefore, walBefore) = StoreBytes(target);
        // The admin API takes at most 500 ids in a create request: online members beyond that join through a first bulk
        // job, not counted in the import rate.
        var firstOnline = Math.Min(online, AdminClient.MaxIdsPerRequest);
        var conversation = await CreateSuperGroupAsync(http, groupId, prefix + "0", [.. Enumerable.Range(1, firstOnline - 1).Select(i => prefix + i)]).ConfigureAwait(false);
        await BulkAddAsync(http, groupId, [.. Enumerable.Range(firstOnline, online - firstOnline).Select(i => prefix + i)]).ConfigureAwait(false);
        clock.Restart();
        var imported = await BulkAddAsync(http, groupId, [.. Enumerable.Range(online, members - online).Select(i => prefix + i)]).ConfigureAwait(false);
        var importSeconds = clock.Elapsed.TotalSeconds;
        var (dbAfter, walAfter) = StoreBytes(target);
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"[parley supergroup r{run}] {members} accounts in {accountsSeconds:F1} s; bulk import of {imported} members in {importSeconds:F1} s = {imported / Math.Max(importSeconds, 1e-3):F0}/s; store growth {(dbAfter - dbBefore) / (double)members:F0} B/member (db file), {(dbAfter + walAfter - dbBefore - walBefore) / (double)members:F0} B/member (db + wal)")).ConfigureAwait(false);

        var summary = await OnlineStepAsync(run, target, prefix, tokens, online, conversation).ConfigureAwait(false);
        summary.Metrics["members"] = members;
        summary.Metrics["online"] = online;
        summary.Metrics["import_members_per_s"] = imported / Math.Max(importSeconds, 1e-3);
        summary.Metrics["store_b_per_member_db"] = (dbAfter - dbBefore) / (double)members;
        summary.Metrics["store_b_per_member_db_wal"] = (dbAfter + walAfter - dbBefore - walBefore) / (double)members;
        foreach (var (k, v) in await ResumeAsync(run, target, admin, http, prefix).ConfigureAwait(false))
        {
            summary.Metrics[k] = v;
        }

        return summary;
    }

    /// <summary>
    /// --super-existing: a group already in the server's store (built by the benchmarks' <c>super-store</c> tool), its users
    /// <c>{prefix}{i}</c> with <c>{prefix}0</c> its owner. Reads the group through the admin API (which activates its grain:
    /// the node has the group loaded before the logins), issues tokens for the online members only, then the same online
    /// step as a group built here. The server's RSS is read with the group loaded (before the logins) and with everyone
    /// online; the step's peak RSS is <c>server_rss_mb</c>.
    /// </summary>
    private async Task<StepResult> ExistingSuperGroupAsync(int run, TargetProcess target, AdminClient admin, HttpClient http, string groupId, string prefix)
    {
        var group = await http.GetFromJsonAsync<JsonElement>("admin/v1/groups/" + groupId).ConfigureAwait(false);
        var members = group.GetProperty("memberCount").GetInt32();
        var conversation = group.GetProperty("conversationId").GetString() ?? throw new InvalidOperationException("no conversation id");
        if (group.GetProperty("ownerId").GetString() != prefix + "0")
        {
            throw new InvalidOperationException($"group {groupId} is owned by {group.GetProperty("ownerId").GetString()}, not {prefix}0 (the sender)");
        }

        var online = Math.Min(o.SuperOnline, members);
        var rssLoaded = ProcStats.RssBytes(target.Pid);
        var clock = Stopwatch.StartNew();
        var tokens = await admin.IssueTokensAsync(prefix, online).ConfigureAwait(false);
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"[parley supergroup r{run}] existing group {groupId}: {members} members; {online} tokens in {clock.Elapsed.TotalSeconds:F1} s; server rss {rssLoaded / 1048576.0:F0} MB with the group loaded")).ConfigureAwait(false);
        var summary = await OnlineStepAsync(run, target, prefix, tokens, online, conversation, () => ProcStats.RssBytes(target.Pid)).ConfigureAwait(false);
        summary.Metrics["members"] = members;
        summary.Metrics["online"] = online;
        summary.Metrics["server_rss_loaded_mb"] = rssLoaded / 1048576.0;
        return summary;
    }

    /// <summary>
    /// <paramref name="online"/> members log in, then one sender (connection 0) posts at --super-rate; the logins' figures
    /// go into the summary, and with <paramref name="rssOnline"/> the server's RSS once everyone is online.
    /// </summary>
    private async Task<StepResult> OnlineStepAsync(int run, TargetProcess target, string prefix, string[] tokens, int online, string conversation, Func<long>? rssOnline = null)
    {
        StepResult summary;
        var (connections, logins) = await ConnectOnlineAsync(run, "supergroup", target, prefix, tokens, online).ConfigureAwait(false);
        if (rssOnline is not null)
        {
            logins["server_rss_online_mb"] = rssOnline() / 1048576.0;
        }

        try
        {
            var sender = connections[0];
            var to = new Target { ConversationId = conversation };
            async ValueTask SendOne(StepLedger ledger, int idx, long ts, Random rnd)
            {
                var frame = new ClientFrame
                {
                    RequestId = ledger.RequestId(idx),
                    Send = new SendRequest
                    {
                        ClientMsgId = ledger.ClientMsgId('s', idx),
                        Target = to,
                        Content = new Content { Text = new TextContent { Text = ledger.Text(idx, ts, o.PayloadBytes) } },
                    },
                };
                await sender.SendAsync(frame.ToByteArray()).ConfigureAwait(false);
            }

            summary = await RampAsync(run, "supergroup", target, connections, [o.SuperRate], online - 1, 1, SendOne).ConfigureAwait(false);
        }
        finally
        {
            await DisposeAllAsync(connections).ConfigureAwait(false);
        }

        foreach (var (k, v) in logins)
        {
            summary.Metrics[k] = v;
        }

        return summary;
    }

    /// <summary>A user in <c>--resume-groups</c> super groups: full sync, then resumes with <c>--resume-changed</c> groups changed and with none.</summary>
    private async Task<Dictionary<string, double>> ResumeAsync(int run, TargetProcess target, AdminClient admin, HttpClient http, string prefix)
    {
        var groups = o.ResumeGroups;
        var changed = Math.Min(o.ResumeChanged, groups);
        var userPrefix = prefix + "r";
        var resumeToken = (await admin.CreateUsersAsync(userPrefix, 1, 1).ConfigureAwait(false))[0];
        var ownerToken = (await admin.CreateUsersAsync(prefix + "o", 1, 1).ConfigureAwait(false))[0];
        var user = userPrefix + "0";
        var owner = prefix + "o0";
        var conversations = new string[groups];
        await Parallel.ForAsync(0, groups, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (k, _) =>
            conversations[k] = await CreateSuperGroupAsync(http, $"{prefix}rg{k}", owner, [user]).ConfigureAwait(false)).ConfigureAwait(false);

        var url = target.WebSocketUrlFor(0);
        var full = await SyncOnceAsync(url, user, resumeToken, 0).ConfigureAwait(false);

        // The owner posts one message into each of the first `changed` groups.
        await using (var poster = await MiniClient.ConnectAsync(url, owner, ownerToken, 0).ConfigureAwait(false))
        {
            for (var k = 0; k < changed; k++)
            {
                await poster.SendTextAsync(conversations[k], "changed " + k).ConfigureAwait(false);
            }
        }

        var withChanges = new List<(double Ms, int Conversations)>();
        for (var i = 0; i < ResumeRepeats; i++)
        {
            withChanges.Add(await SyncOnceAsync(url, user, resumeToken, full.Cursor).ConfigureAwait(false) is var r ? (r.Ms, r.Conversations) : default);
        }

        var latest = await SyncOnceAsync(url, user, resumeToken, full.Cursor).ConfigureAwait(false);
        var unchanged = new List<(double Ms, int Conversations)>();
        for (var i = 0; i < ResumeRepeats; i++)
        {
            unchanged.Add(await SyncOnceAsync(url, user, resumeToken, latest.Cursor).ConfigureAwait(false) is var r ? (r.Ms, r.Conversations) : default);
        }

        var m = new Dictionary<string, double>
        {
            ["resume_groups"] = groups,
            ["resume_changed"] = changed,
            ["full_sync_ms"] = full.Ms,
            ["full_sync_conversations"] = full.Conversations,
            ["resume_changed_ms_median"] = Median(withChanges.Select(x => x.Ms)),
            ["resume_changed_conversations"] = withChanges.Max(x => x.Conversations),
            ["resume_nothing_ms_median"] = Median(unchanged.Select(x => x.Ms)),
            ["resume_nothing_conversations"] = unchanged.Max(x => x.Conversations),
        };
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"[parley supergroup r{run} resume] user in {groups} super groups: full sync {full.Ms:F1} ms ({full.Conversations} conversations); resume with {changed} changed: median {m["resume_changed_ms_median"]:F1} ms ({m["resume_changed_conversations"]} conversations); nothing changed: median {m["resume_nothing_ms_median"]:F1} ms ({m["resume_nothing_conversations"]} conversations); {ResumeRepeats} resumes each")).ConfigureAwait(false);
        if (m["resume_changed_conversations"] != changed || m["resume_nothing_conversations"] != 0)
        {
            throw new InvalidOperationException($"resume returned the wrong conversations: full {full.Conversations}/{groups}, changed {m["resume_changed_conversations"]}/{changed}, nothing {m["resume_nothing_conversations"]}/0");
        }

        return m;
    }

    private static async Task<(double Ms, int Conversations, ulong Cursor)> SyncOnceAsync(Uri url, string user, string token, ulong cursor)
    {
        var t0 = Stopwatch.GetTimestamp();
        await using var client = await MiniClient.ConnectAsync(url, user, token, cursor).ConfigureAwait(false);
        return (Stopwatch.GetElapsedTime(t0).TotalMilliseconds, client.SyncedConversations, client.Cursor);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static async Task<string> CreateSuperGroupAsync(HttpClient http, string groupId, string ownerId, string[] memberIds)
    {
        using var response = await http.PostAsJsonAsync("admin/v1/groups", new { groupId, name = "super " + groupId, ownerId, memberIds, kind = "super" }).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"create super group failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
        }

        return "sg_" + groupId;
    }

    /// <summary>One bulk job through the admin API, polled until it ends; returns the members it added.</summary>
    private static async Task<int> BulkAddAsync(HttpClient http, string groupId, string[] userIds)
    {
        if (userIds.Length == 0)
        {
            return 0;
        }

        using var started = await http.PostAsJsonAsync($"admin/v1/groups/{groupId}/members/bulk", new { add = userIds }).ConfigureAwait(false);
        if (!started.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"bulk import refused: {(int)started.StatusCode} {await started.Content.ReadAsStringAsync().ConfigureAwait(false)}");
        }

        var jobId = (await started.Content.ReadFromJsonAsync<JsonElement>().ConfigureAwait(false)).GetProperty("jobId").GetString();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var job = await http.GetFromJsonAsync<JsonElement>($"admin/v1/groups/jobs/{jobId}").ConfigureAwait(false);
            var state = job.GetProperty("state").GetString();
            if (state != "running")
            {
                return state == "completed" ? job.GetProperty("changed").GetInt32() : throw new InvalidOperationException($"bulk import ended {state}: {job}");
            }

            if (deadline.Elapsed > TimeSpan.FromMinutes(30))
            {
                throw new TimeoutException("bulk import did not finish in 30 minutes");
            }

            await Task.Delay(100).ConfigureAwait(false);
        }
    }

    /// <summary>Bytes of the server's SQLite file and its WAL (0 for a server not started here or on PostgreSQL).</summary>
    private static (long Db, long Wal) StoreBytes(TargetProcess target)
    {
        if (target.DataDirectory is not { } dir)
        {
            return (0, 0);
        }

        long Size(string pattern) => Directory.Exists(dir) ? Directory.EnumerateFiles(dir, pattern, SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : 0;
        return (Size("*.db"), Size("*.db-wal"));
    }

    /// <summary>A request/response native-protocol client for the resume measurement: hello with a cursor, the sync counted, sends acked.</summary>
    private sealed class MiniClient : IAsyncDisposable
    {
        private readonly ClientWebSocket _socket = new();
        private uint _requestId = 1;

        public int SyncedConversations { get; private set; }

        public ulong Cursor { get; private set; }

        public static async Task<MiniClient> ConnectAsync(Uri url, string userId, string token, ulong cursor, string deviceId = "lt-0")
        {
            var c = new MiniClient();
            c._socket.Options.AddSubProtocol(FrameCodec.SubProtocol);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await c._socket.ConnectAsync(url, cts.Token).ConfigureAwait(false);
                await c.SendAsync(new ClientFrame { RequestId = c._requestId++, Hello = new Hello { Token = token, DeviceId = deviceId, Platform = Platform.Linux, ClientVersion = "parley-loadtest/1", ResumeCursor = cursor } }, cts.Token).ConfigureAwait(false);
                while (true)
                {
                    var frame = await c.ReceiveAsync(cts.Token).ConfigureAwait(false);
                    switch (frame.BodyCase)
                    {
                        case ServerFrame.BodyOneofCase.SyncBatch:
                            c.SyncedConversations += frame.SyncBatch.Conversations.Count;
                            break;
                        case ServerFrame.BodyOneofCase.SyncComplete:
                            c.Cursor = frame.SyncComplete.Cursor;
                            return c;
                        case ServerFrame.BodyOneofCase.Error:
                            throw new InvalidOperationException($"{userId}: hello refused: {frame.Error.Code}");
                    }
                }
            }
            catch
            {
                await c.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        public async Task SendTextAsync(string conversationId, string text)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var id = _requestId++;
            await SendAsync(new ClientFrame { RequestId = id, Send = new SendRequest { ClientMsgId = Guid.NewGuid().ToString("N"), Target = new Target { ConversationId = conversationId }, Content = new Content { Text = new TextContent { Text = text } } } }, cts.Token).ConfigureAwait(false);
            while (true)
            {
                var frame = await ReceiveAsync(cts.Token).ConfigureAwait(false);
                if (frame.RequestId == id)
                {
                    _ = frame.BodyCase == ServerFrame.BodyOneofCase.SendAck ? 0 : throw new InvalidOperationException($"send refused: {frame.BodyCase} {frame.Error?.Code}");
                    return;
                }
            }
        }

        private async Task SendAsync(ClientFrame frame, CancellationToken cancellationToken) =>
            await _socket.SendAsync(frame.ToByteArray(), WebSocketMessageType.Binary, true, cancellationToken).ConfigureAwait(false);

        private async Task<ServerFrame> ReceiveAsync(CancellationToken cancellationToken)
        {
            var writer = new ArrayBufferWriter<byte>(16 * 1024);
            while (true)
            {
                var r = await _socket.ReceiveAsync(writer.GetMemory(16 * 1024), cancellationToken).ConfigureAwait(false);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    throw new InvalidOperationException($"closed: {_socket.CloseStatus} {_socket.CloseStatusDescription}");
                }

                writer.Advance(r.Count);
                if (r.EndOfMessage)
                {
                    return FrameCodec.TryDecodeServer(writer.WrittenSpan, out var frame) ? frame : throw new InvalidDataException("undecodable server frame");
                }
            }
        }

        public ValueTask DisposeAsync()
        {
            _socket.Abort();
            _socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
