using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Webhooks;
using Parley.Core.Telemetry;
using Parley.Core.Webhooks;
using Parley.IntegrationTests.Infrastructure;
using Parley.Storage.Postgres;
using Parley.Storage.Postgres.Webhooks;

namespace Parley.IntegrationTests;

/// <summary>
/// Issue 15, after-hooks in a cluster: two nodes' dispatchers (each with its own PostgreSQL owner and pool, as two
/// server processes have) deliver from one outbox on the dev PostgreSQL. Leases keep them apart: no event is in
/// flight on both at once and none is accepted twice, although failed attempts move events between the nodes.
/// </summary>
public sealed class WebhookClusterTests : IAsyncLifetime
{
    private readonly string _schema = "wh_" + Guid.NewGuid().ToString("N");
    private readonly List<IAsyncDisposable> _disposables = [];

    private static string ConnectionString => PostgresFactAttribute.ConnectionString;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }

        await PostgresFactAttribute.DropSchemaAsync(_schema);
    }

    [PostgresFact]
    public async Task TwoNodes_DeliverEveryEventOnce_NeverTheSameEventAtOnce()
    {
        const int Events = 150;
        var receiver = await WebhookReceiver.StartAsync();
        _disposables.Add(receiver);
        var inFlight = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var accepted = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var overlaps = 0;
        var random = new Random(15);
        receiver.Behaviour = async (call, context) =>
        {
            var eventId = call.Header("X-Parley-Event-Id");
            if (inFlight.AddOrUpdate(eventId, 1, (_, n) => n + 1) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            try
            {
                await Task.Delay(5);
                bool fail;
                lock (random)
                {
                    fail = random.NextDouble() < 0.3;
                }

                if (fail)
                {
                    context.Response.StatusCode = 503;
                    return;
                }

                accepted.AddOrUpdate(eventId, 1, (_, n) => n + 1);
            }
            finally
            {
                inFlight.AddOrUpdate(eventId, 0, (_, n) => n - 1);
            }
        };

        var options = new WebhookOptions
        {
            Url = receiver.BaseUrl,
            Secret = WebhookFixture.Secret,
            Delivery = new WebhookDeliveryOptions { InitialBackoffMs = 20, MaxBackoffMs = 100, PollIntervalMs = 20, MaxAttempts = 100, BatchSize = 16 },
        };
        options.Hooks[WebhookOptions.AfterUserOnline] = new HookOptions { Enabled = true, TimeoutMs = 2000 };

        var nodes = new List<(WebhookDispatcher Dispatcher, IWebhookOutbox Outbox)>();
        for (var n = 0; n < 2; n++)
        {
            var database = new PostgresDatabase(new PostgresStoreOptions { ConnectionString = ConnectionString, Schema = _schema, Durable = true });
            _disposables.Add(database);
            await database.InitializeAsync();
            var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
            _disposables.Add(services);
            var metrics = new ParleyMetrics(services.GetRequiredService<IMeterFactory>());
            var client = new WebhookClient(Options.Create(options), TimeProvider.System, metrics, NullLogger<WebhookClient>.Instance);
            var outbox = new PostgresWebhookOutbox(database);
            nodes.Add((new WebhookDispatcher(outbox, client, new WebhookSignal(), TimeProvider.System, metrics, NullLogger<WebhookDispatcher>.Instance, sharedOutbox: true), outbox));
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await nodes[0].Outbox.EnqueueAsync([.. Enumerable.Range(0, Events).Select(i => WebhookEvent.New($"ev{i:D3}-{Guid.NewGuid():N}"[..32], WebhookOptions.AfterUserOnline, "{\"i\":" + i + "}", now))]);
        foreach (var node in nodes)
        {
            await node.Dispatcher.StartAsync(CancellationToken.None);
        }

        try
        {
            await Wait.UntilAsync(() => accepted.Count == Events, $"every event was accepted (have {accepted.Count})", TimeSpan.FromSeconds(60));
            await Wait.UntilAsync(() => nodes[1].Outbox.CountAsync().GetAwaiter().GetResult().Pending == 0, "the outbox was drained");
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.Dispatcher.StopAsync(CancellationToken.None);
                node.Dispatcher.Dispose();
            }
        }

        Assert.Equal(0, overlaps);
        Assert.All(accepted, kv => Assert.Equal(1, kv.Value));
        Assert.True(receiver.Calls.Count > Events, "some attempts failed and were retried");
        Assert.Equal(new WebhookOutboxCounts(0, 0), await nodes[0].Outbox.CountAsync());
    }
}
