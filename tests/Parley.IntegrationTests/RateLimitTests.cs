using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Parley.Core.Limits;
using Parley.Core.Telemetry;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>A clock whose timestamps only move when the test says so.</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>Issue 15, rate limits: the token buckets on a deterministic clock.</summary>
public sealed class RateLimiterTests
{
    private static (RateLimiter Limiter, ManualClock Clock) Create(Action<RateLimitOptions>? configure = null)
    {
        var options = new RateLimitOptions();
        options.Send.PerUser = new TokenBucketOptions(10, 20);
        options.Send.PerConnection = new TokenBucketOptions(100, 100);
        configure?.Invoke(options);
        var clock = new ManualClock();
        return (new RateLimiter(new StaticMonitor<RateLimitOptions>(options), clock, new ParleyMetrics(new TestMeterFactory())), clock);
    }

    [Fact]
    public void Spam_At100PerSecond_AgainstTenPerSecondBurst20_AcceptsBurstPlusRateTimesTime_AndNeverRestoresTheBurst()
    {
        var (limiter, clock) = Create();
        var accepted = 0;
        for (var i = 0; i < 1000; i++)
        {
            if (limiter.TryAcquire(RateLimitAction.Send, "spammer", "c1").Allowed)
            {
                accepted++;
            }

            clock.Advance(TimeSpan.FromMilliseconds(10));
        }

        // 10 s of spam: at most 20 + 10·10 (±1).
        Assert.InRange(accepted, 119, 121);
        _ = limiter.TryAcquire(RateLimitAction.Send, "spammer", "c1"); // takes the token the last 10 ms may have refilled
        var refused = limiter.TryAcquire(RateLimitAction.Send, "spammer", "c1");
        Assert.False(refused.Allowed);
        Assert.InRange(refused.RetryAfter, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(100));
        Assert.InRange(refused.RetryAfterMs, 1u, 100u);

        // Others are not affected; admins and the system are never limited.
        Assert.True(limiter.TryAcquire(RateLimitAction.Send, "bystander", "c2").Allowed);
        Assert.True(limiter.TryAcquire(RateLimitAction.Send, "spammer", "c1", RateLimitPrincipal.Admin).Allowed);
        Assert.True(limiter.TryAcquire(RateLimitAction.Send, "spammer", "c1", RateLimitPrincipal.System).Allowed);
    }

    [Fact]
    public void ConnectionBucket_RefusesWithoutDrainingTheUser_AndExemptUsersPass()
    {
        var (limiter, _) = Create(o =>
        {
            o.Send.PerConnection = new TokenBucketOptions(1, 2);
            o.ExemptUserIds.Add("bot");
        });
        Assert.True(limiter.TryAcquire(RateLimitAction.Send, "u", "c1").Allowed);
        Assert.True(limiter.TryAcquire(RateLimitAction.Send, "u", "c1").Allowed);
        for (var i = 0; i < 50; i++)
        {
            Assert.False(limiter.TryAcquire(RateLimitAction.Send, "u", "c1").Allowed);
        }

        // The refused attempts cost the user nothing: another connection still gets the user's remaining tokens.
        Assert.True(limiter.TryAcquire(RateLimitAction.Send, "u", "c2").Allowed);
        Assert.True(limiter.TryAcquire(RateLimitAction.Send, "u", "c2").Allowed);

        // Buckets are per action: sends do not use up searches.
        Assert.True(limiter.TryAcquire(RateLimitAction.Search, "u", "c1").Allowed);
        for (var i = 0; i < 500; i++)
        {
            Assert.True(limiter.TryAcquire(RateLimitAction.Send, "bot", "c3").Allowed);
        }
    }

    [Fact]
    public void Disabled_AllowsEverything()
    {
        var (limiter, _) = Create(o => o.Enabled = false);
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(limiter.TryAcquire(RateLimitAction.CreateGroup, "u", "c1").Allowed);
        }
    }

    [Fact]
    public void Options_InvalidBucket_IsRefusedNamingTheSetting()
    {
        var options = new RateLimitOptions();
        options.Join.PerUser = new TokenBucketOptions(0, 5);
        options.Search.PerConnection = new TokenBucketOptions(1, 0);
        var result = new RateLimitOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains("Parley:RateLimits:Join:PerUser", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Parley:RateLimits:Search:PerConnection", result.FailureMessage, StringComparison.Ordinal);
    }

    private sealed class StaticMonitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose() => _meters.ForEach(m => m.Dispose());
    }
}

/// <summary>One server with tight limits (burst 3 everywhere a test needs it), driven over real sockets.</summary>
public sealed class RateLimitServerFixture : IAsyncLifetime
{
    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?> { ["Parley:RateLimits:Enabled"] = "true", ["Parley:RateLimits:ExemptUserIds:0"] = "rl-bot" };
        foreach (var action in new[] { "Send", "FriendRequest", "CreateGroup", "Join", "Search", "Upload", "Rest" })
        {
            foreach (var scope in new[] { "PerUser", "PerConnection" })
            {
                settings[$"Parley:RateLimits:{action}:{scope}:PerSecond"] = "0.5";
                settings[$"Parley:RateLimits:{action}:{scope}:Burst"] = "3";
            }
        }

        Server = await TestServer.StartAsync(settings);
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Issue 15 defect 3: per-user and per-connection limits on every entry point, with a retry-after the SDK honours.</summary>
public sealed class RateLimitTests(RateLimitServerFixture fixture) : IClassFixture<RateLimitServerFixture>
{
    private TestServer Server => fixture.Server;

    public static TheoryData<string> LimitedRequests => new() { "send", "revoke", "friend_request", "create_group", "join", "invite", "search_users", "search_groups" };

    [Theory]
    [MemberData(nameof(LimitedRequests))]
    public async Task NativeRequests_OverTheBurst_AreRefusedRateLimitedWithRetryAfter_BeforeAnyWork(string kind)
    {
        var me = await Server.CreateUserAsync("rl");
        var peer = await Server.CreateUserAsync("rl");
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(await Server.IssueTokenAsync(me, "raw"), "raw");
        for (uint i = 0; i < 6; i++)
        {
            await raw.SendAsync(Request(kind, 100 + i, me, peer));
        }

        var answers = await AnswersAsync(raw, 100, 6);
        var refused = answers.Where(a => a.Error?.Code == ErrorCode.RateLimited).ToList();

        // Burst 3: the first three get whatever the request gets (an answer other than RATE_LIMITED), the rest are refused.
        Assert.Equal(3, refused.Count);
        Assert.All(answers.Take(3), a => Assert.NotEqual(ErrorCode.RateLimited, a.Error?.Code ?? ErrorCode.Unspecified));
        Assert.All(refused, a =>
        {
            Assert.InRange(a.Error.RetryAfterMs, 1u, 2000u);
            Assert.Contains("retry after", a.Error.Message, StringComparison.Ordinal);
        });

        if (kind == "send")
        {
            // Refused sends stored nothing: the conversation holds exactly the three accepted messages.
            var history = await (await Server.ConnectAsync(peer)).GetHistoryAsync(answers[0].SendAck.ConversationId);
            Assert.Equal(3, history.Messages.Count);
        }
    }

    [Fact]
    public async Task OneUser_TwoConnections_ShareTheUserBucket_AndTheRefusalsAreCountedInMetrics()
    {
        var me = await Server.CreateUserAsync("rl");
        var peer = await Server.CreateUserAsync("rl");
        await using var first = await RawClient.ConnectAsync(Server.WebSocketUri);
        await first.HelloAsync(await Server.IssueTokenAsync(me, "a"), "a");
        await using var second = await RawClient.ConnectAsync(Server.WebSocketUri);
        await second.HelloAsync(await Server.IssueTokenAsync(me, "b", "ios"), "b", Platform.Ios);
        // This server's counter (its meters come from its own IMeterFactory): in-process, so other test servers'
        // exporters cannot disturb it. MetricNamesTests checks that it is exported as parley_rate_limited_total.
        var factory = Server.Services.GetRequiredService<IMeterFactory>();
        long userScopeRefusals = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "parley.rate_limited" && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var scope = string.Empty;
            var action = string.Empty;
            foreach (var tag in tags)
            {
                scope = tag.Key == "scope" ? tag.Value as string ?? scope : scope;
                action = tag.Key == "action" ? tag.Value as string ?? action : action;
            }

            if (scope == "user" && action == "send")
            {
                Interlocked.Add(ref userScopeRefusals, value);
            }
        });
        listener.Start();
        for (uint i = 0; i < 2; i++)
        {
            await first.SendAsync(Request("send", 100 + i, me, peer));
        }

        var firstAnswers = await AnswersAsync(first, 100, 2);
        Assert.All(firstAnswers, a => Assert.Equal(ServerFrame.BodyOneofCase.SendAck, a.BodyCase));
        for (uint i = 0; i < 3; i++)
        {
            await second.SendAsync(Request("send", 200 + i, me, peer));
        }

        // The second connection's own bucket is full, but the user has only one token left.
        var secondAnswers = await AnswersAsync(second, 200, 3);
        Assert.Equal(1, secondAnswers.Count(a => a.BodyCase == ServerFrame.BodyOneofCase.SendAck));
        Assert.Equal(2, secondAnswers.Count(a => a.Error?.Code == ErrorCode.RateLimited));

        await Wait.UntilAsync(() => Interlocked.Read(ref userScopeRefusals) >= 2, "parley.rate_limited{action=send,scope=user} counted the two refusals");
    }

    [Fact]
    public async Task Sdk_BurstOfSends_OverTheLimit_AllAcknowledgedOnceByHonouringRetryAfter()
    {
        var alice = await Server.CreateUserAsync("rl");
        var bob = await Server.CreateUserAsync("rl");
        var client = await Server.ConnectAsync(alice);
        var receipts = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => client.SendTextAsync(bob, $"sdk {i}")));
        Assert.Equal(8, receipts.Select(r => r.Seq).Distinct().Count());
        Assert.All(receipts, r => Assert.False(r.Duplicate));
        var history = await (await Server.ConnectAsync(bob)).GetHistoryAsync(receipts[0].ConversationId);
        Assert.Equal(8, history.Messages.Count);

        // Other requests too: five searches against a burst of 3 all answer.
        var searches = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => client.SearchUsersAsync("rl")));
        Assert.Equal(5, searches.Length);
    }

    [Fact]
    public async Task Sdk_WaitLongerThanTheRequestTimeout_ThrowsRateLimitedWithRetryAfter()
    {
        var me = await Server.CreateUserAsync("rl");
        var client = new ParleyClient(new ParleyClientOptions
        {
            ServerUri = Server.WebSocketUri,
            Token = await Server.IssueTokenAsync(me, "short"),
            DeviceId = "short",
            RequestTimeout = TimeSpan.FromMilliseconds(300),
        });
        await using (client)
        {
            await client.ConnectAsync();
            var errors = new List<ParleyException>();
            for (var i = 0; i < 8; i++)
            {
                try
                {
                    await client.SearchUsersAsync("x");
                }
                catch (ParleyException ex)
                {
                    errors.Add(ex);
                }
            }

            // Refill is 0.5/s: right after a success the wait is ~2 s, which does not fit in 300 ms, so the error reaches
            // the caller, typed, with the server's retry-after.
            Assert.NotEmpty(errors);
            Assert.All(errors, error =>
            {
                Assert.Equal(ErrorCode.RateLimited, error.Code);
                Assert.NotNull(error.RetryAfter);
                Assert.InRange(error.RetryAfter!.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(2));
            });
        }
    }

    [Fact]
    public async Task ExemptUser_IsNeverLimited()
    {
        var bot = "rl-bot";
        Assert.Equal(HttpStatusCode.Created, (await Server.Admin.PostAsJsonAsync("/admin/v1/users", new { userId = bot, nickname = "bot" })).StatusCode);
        var peer = await Server.CreateUserAsync("rl");
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(await Server.IssueTokenAsync(bot, "raw"), "raw");
        for (uint i = 0; i < 10; i++)
        {
            await raw.SendAsync(Request("send", 100 + i, bot, peer));
        }

        Assert.All(await AnswersAsync(raw, 100, 10), a => Assert.Equal(ServerFrame.BodyOneofCase.SendAck, a.BodyCase));
    }

    [Fact]
    public async Task DeviceApi_OverTheLimit_Answers429ProblemWithRetryAfter()
    {
        var me = await Server.CreateUserAsync("rl");
        using var http = new HttpClient { BaseAddress = Server.BaseUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await Server.IssueTokenAsync(me, "api"));
        var statuses = new List<HttpResponseMessage>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add(await http.PutAsJsonAsync("/api/v1/push/settings", new { doNotDisturb = false }));
        }

        Assert.Equal(3, statuses.Count(r => r.StatusCode == HttpStatusCode.NoContent));
        var limited = statuses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.Equal(2, limited.Count);
        foreach (var response in limited)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.InRange(response.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("RATE_LIMITED", problem.GetProperty("code").GetString());
            Assert.Equal(429, problem.GetProperty("status").GetInt32());
            Assert.InRange(problem.GetProperty("retryAfterMs").GetInt64(), 1, 2000);
        }
    }

    [Fact]
    public async Task Uploads_OverTheLimit_Answer429WithRetryAfter_AndTheSdkWaitsAndUploads()
    {
        var me = await Server.CreateUserAsync("rl");
        using var http = new HttpClient { BaseAddress = Server.BaseUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await Server.IssueTokenAsync(me, "api"));
        var answers = new List<HttpResponseMessage>();
        for (var i = 0; i < 4; i++)
        {
            answers.Add(await http.PostAsJsonAsync("/api/v1/uploads", new { kind = "file", fileName = $"f{i}.bin", size = 10 }));
        }

        Assert.Equal(3, answers.Count(r => r.StatusCode == HttpStatusCode.Created));
        var limited = Assert.Single(answers, r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.NotNull(limited.Headers.RetryAfter?.Delta);
        var body = await limited.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("RATE_LIMITED", body.GetProperty("error").GetProperty("code").GetString());

        // The SDK's upload waits out the same bucket and succeeds.
        var client = await Server.ConnectAsync(me, "sdk");
        using var content = new MemoryStream([1, 2, 3, 4, 5]);
        var uploaded = await client.UploadAsync(content, MediaKind.File, "after-wait.bin");
        Assert.Equal(5, uploaded.Size);
    }

    private static ClientFrame Request(string kind, uint requestId, string me, string peer)
    {
        var frame = new ClientFrame { RequestId = requestId };
        var text = new Content { Text = new TextContent { Text = "x" } };
        switch (kind)
        {
            case "send":
                frame.Send = new SendRequest { ClientMsgId = $"rl-{requestId}", Target = new Target { UserId = peer }, Content = text };
                break;
            case "revoke":
                frame.Revoke = new RevokeRequest { ConversationId = "si_nowhere", Seq = 1 };
                break;
            case "friend_request":
                frame.SendFriendRequest = new SendFriendRequestRequest { ToUserId = peer, Message = "hi" };
                break;
            case "create_group":
                frame.CreateGroup = new CreateGroupRequest { Name = "g", MemberIds = { peer } };
                break;
            case "join":
                frame.JoinGroup = new JoinGroupRequest { GroupId = "no-such-group-" + me };
                break;
            case "invite":
                frame.InviteToGroup = new InviteToGroupRequest { GroupId = "no-such-group-" + me, UserIds = { peer } };
                break;
            case "search_users":
                frame.SearchUsers = new SearchUsersRequest { Query = "rl" };
                break;
            default:
                frame.SearchGroups = new SearchGroupsRequest { Query = "g" };
                break;
        }

        return frame;
    }

    private static async Task<List<ServerFrame>> AnswersAsync(RawClient raw, uint firstId, int count)
    {
        var answers = new Dictionary<uint, ServerFrame>();
        while (answers.Count < count)
        {
            var frame = await raw.ReceiveAsync(TimeSpan.FromSeconds(10)) ?? throw new InvalidOperationException($"closed or silent after {answers.Count} of {count} answers");
            if (frame.RequestId >= firstId && frame.RequestId < firstId + count)
            {
                answers[frame.RequestId] = frame;
            }
        }

        return [.. answers.OrderBy(a => a.Key).Select(a => a.Value)];
    }
}
