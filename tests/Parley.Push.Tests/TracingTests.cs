using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Trace;
using Parley.Protocol.V1;
using Parley.Push.Tests.Simulators;

namespace Parley.Push.Tests;

/// <summary>
/// One trace per message: the real server (with its own OpenTelemetry tracer provider and sampler) records spans from
/// the gateway request through the grain, the commit, the fan-out, the push pipeline, the FCM call and the arrival
/// report; the push payload and the logs carry the same trace id.
/// </summary>
public sealed class TracingTests
{
    [Fact]
    public async Task MessageToOfflineRecipient_IsOneTrace_GatewayGrainCommitFanOutPushVendorArrival_WithTraceIdInPayloadAndLogs()
    {
        var spans = new ConcurrentQueue<Activity>();
        var logs = new CapturingLoggerProvider();
        await using var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        await using var server = await TestServer.StartAsync(
            // No OTLP exporter here (the test's processor collects the spans): recording must be switched on.
            fcm.ServerSettings(("Parley:Telemetry:Tracing", "true")),
            builder =>
            {
                builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddProcessor(new CollectingProcessor(spans)));
                builder.Logging.AddProvider(logs);
                builder.Logging.AddFilter<CapturingLoggerProvider>("Parley", LogLevel.Debug);
            });
        Assert.Contains(server.Services.GetServices<Orleans.IIncomingGrainCallFilter>(), f => f.GetType().Name.Contains("ActivityPropagation", StringComparison.Ordinal));
        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        var sender = await server.ConnectAsync(alice);
        var phone = await server.ConnectAsync(bob, "phone", Platform.Android);
        await phone.RegisterDeviceAsync(new RegisterDeviceRequest { Vendor = PushVendor.Fcm, Token = "fcm-token-trace", AppId = "com.example.chat", NotificationsEnabled = true });
        await phone.DisposeAsync(); // offline: the message goes to the push pipeline

        var ack = await sender.SendTextAsync(bob, "trace me");
        var push = (await PushEndToEndTests.PushesAsync(server, ack.ServerMsgId, expected: 1)).Single();
        Assert.Equal("Accepted", push.State);
        var traceId = ActivityTraceId.CreateFromString(push.TraceId);

        // The device reports arrival with the payload's ids (over HTTP, as a woken app would).
        using var phoneHttp = new HttpClient { BaseAddress = server.BaseUri };
        phoneHttp.DefaultRequestHeaders.Authorization = new("Bearer", await server.IssueTokenAsync(bob, "phone", "android"));
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await phoneHttp.PostAsJsonAsync($"/api/v1/push/{push.PushId}/arrived", new { traceId = push.TraceId })).StatusCode);

        string[] expected = ["gateway Send", "commit", "fan-out", "push submit", "push vendor fcm", "push arrived"];
        List<Activity> trace = [];
        await Wait.UntilAsync(
            () =>
            {
                trace = [.. spans.Where(s => s.TraceId == traceId)];
                return expected.All(name => trace.Any(s => s.DisplayName == name));
            },
            $"every span of the message's trace was recorded (have: {string.Join(", ", spans.Where(s => s.TraceId == traceId).Select(s => s.DisplayName))})");

        // One trace: exactly one root (the gateway request), every other span's parent is in the same trace.
        var root = Assert.Single(trace, s => s.ParentSpanId == default);
        Assert.Equal("gateway Send", root.DisplayName);
        Assert.Equal(ActivityKind.Server, root.Kind);
        var ids = trace.Select(s => s.SpanId).ToHashSet();
        Assert.All(trace.Where(s => s != root), s => Assert.Contains(s.ParentSpanId, ids));

        // The grain call (Orleans' activity propagation) sits between the gateway and the commit.
        var grain = Assert.Single(trace, s => s.Source.Name == "Microsoft.Orleans.Application" && s.Kind == ActivityKind.Server && s.DisplayName.Contains("ConversationGrain", StringComparison.Ordinal));
        var commit = trace.Single(s => s.DisplayName == "commit");
        Assert.Equal(grain.SpanId, commit.ParentSpanId);
        Assert.Equal(grain.SpanId, trace.Single(s => s.DisplayName == "fan-out").ParentSpanId);
        var submit = trace.Single(s => s.DisplayName == "push submit");
        Assert.Equal(trace.Single(s => s.DisplayName == "fan-out").SpanId, submit.ParentSpanId);
        var vendor = trace.Single(s => s.DisplayName == "push vendor fcm");
        Assert.Equal(submit.SpanId, vendor.ParentSpanId);
        Assert.Equal(ActivityKind.Client, vendor.Kind);
        Assert.Equal("Accepted", vendor.GetTagItem("push.outcome"));
        Assert.Equal(push.PushId, vendor.GetTagItem("push.id"));
        Assert.Equal(submit.SpanId, trace.Single(s => s.DisplayName == "push arrived").ParentSpanId);

        // The payload the vendor got carries the same trace id; so do the logs written inside the trace.
        var body = fcm.Requests.Where(r => r.PushId == push.PushId).Select(r => System.Text.Encoding.UTF8.GetString(r.Body)).Single();
        Assert.Contains($"\"trace_id\":\"{push.TraceId}\"", body, StringComparison.Ordinal);
        Assert.Contains(logs.Entries, e => e.TraceId == push.TraceId && e.Category.StartsWith("Parley.Push", StringComparison.Ordinal));
        Assert.DoesNotContain(trace.SelectMany(s => s.TagObjects), t => t.Value is string v && v.Contains("trace me", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ByDefault_WithoutAnExporter_NothingListensToTheActivitySources_AndMessagesStillFlow()
    {
        await using var server = await TestServer.StartAsync();
        Assert.Null(server.Services.GetService<TracerProvider>());

        // ... and grain calls carry no activity-propagation filters (they were most of tracing's cost per message).
        Assert.DoesNotContain(server.Services.GetServices<Orleans.IIncomingGrainCallFilter>(), f => f.GetType().Name.Contains("ActivityPropagation", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Services.GetServices<Orleans.IOutgoingGrainCallFilter>(), f => f.GetType().Name.Contains("ActivityPropagation", StringComparison.Ordinal));

        var alice = await server.CreateUserAsync("alice");
        var bob = await server.CreateUserAsync("bob");
        await using var sender = await server.ConnectAsync(alice);
        await using var receiver = await server.ConnectAsync(bob);
        var ack = await sender.SendTextAsync(bob, "untraced");
        Assert.True(ack.Seq > 0);
    }

    [Theory]
    [InlineData(null, null, false)]
    [InlineData("http://collector:4317", null, true)]
    [InlineData("http://collector:4317", "false", false)]
    [InlineData(null, "true", true)]
    public void TracingDefault_FollowsTheTraceExporter_UnlessSetExplicitly(string? endpoint, string? tracing, bool expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Parley:Telemetry:Otlp:Endpoint"] = endpoint,
                ["Parley:Telemetry:Tracing"] = tracing,
            })
            .Build();
        Assert.Equal(expected, Hosting.Telemetry.TelemetryExtensions.IsTracingEnabled(configuration));
    }

    private sealed class CollectingProcessor(ConcurrentQueue<Activity> spans) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity data) => spans.Enqueue(data);
    }

    /// <summary>Records each log entry's category and the TraceId of its scope (ActivityTrackingOptions).</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public ConcurrentQueue<(string Category, string? TraceId)> Queue { get; } = new();

        public IReadOnlyList<(string Category, string? TraceId)> Entries => [.. Queue.Select(e => e)];

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => owner._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                string? traceId = null;
                owner._scopes.ForEachScope(
                    (scope, _) =>
                    {
                        if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
                        {
                            foreach (var pair in pairs)
                            {
                                if (pair.Key == "TraceId")
                                {
                                    traceId = pair.Value?.ToString();
                                }
                            }
                        }
                    },
                    (object?)null);
                owner.Queue.Enqueue((category, traceId));
            }
        }
    }
}
