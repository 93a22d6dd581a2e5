using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Parley.Core.Webhooks;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>
/// Issue 15, after-hooks across a crash: the real server process is killed (SIGKILL) while events are being retried and
/// while one is in a receiver's hands; after the restart every event reaches a receiver that deduplicates by event id
/// exactly once (at least once on the wire, nothing lost).
/// </summary>
public sealed class WebhookRestartTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "parley-wh-restart-" + Guid.NewGuid().ToString("N"));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task KillMidRetry_AndMidRequest_EveryEventIsProcessedExactlyOnceByADedupingReceiver()
    {
        const int Messages = 20;
        await using var receiver = await WebhookReceiver.StartAsync();

        // The receiver as a real one is written: it processes an event id once and answers 200 to repeats.
        var processed = new ConcurrentDictionary<string, string>(StringComparer.Ordinal); // event id -> client message id
        var wire = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var failing = true;
        var hang = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var hanging = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        receiver.Behaviour = async (call, context) =>
        {
            if (call.Hook != WebhookOptions.AfterSendSingleMsg)
            {
                return;
            }

            var eventId = call.Header("X-Parley-Event-Id");
            var clientMsgId = call.Json.GetProperty("clientMsgID").GetString()!;
            wire.AddOrUpdate(eventId, 1, (_, n) => n + 1);
            if (clientMsgId == "m-hang" && hanging.TrySetResult(eventId))
            {
                // Processed, but the answer never leaves: the server dies while it waits.
                processed.TryAdd(eventId, clientMsgId);
                await hang.Task;
                return;
            }

            if (Volatile.Read(ref failing))
            {
                context.Response.StatusCode = 503;
                return;
            }

            processed.TryAdd(eventId, clientMsgId);
        };

        await using var server = new ServerProcess(Path.Combine(_root, "data"));
        server.Settings["Parley__Webhooks__Url"] = receiver.BaseUrl;
        server.Settings["Parley__Webhooks__Secret"] = WebhookFixture.Secret;
        server.Settings["Parley__Webhooks__Hooks__afterSendSingleMsg__Enabled"] = "true";
        server.Settings["Parley__Webhooks__Hooks__afterSendSingleMsg__TimeoutMs"] = "20000";
        server.Settings["Parley__Webhooks__Delivery__InitialBackoffMs"] = "200";
        server.Settings["Parley__Webhooks__Delivery__MaxBackoffMs"] = "1000";
        server.Settings["Parley__Webhooks__Delivery__PollIntervalMs"] = "50";
        server.Settings["Parley__Webhooks__Delivery__MaxAttempts"] = "100";
        await server.StartAsync();

        await server.CreateUserAsync("wa");
        await server.CreateUserAsync("wb");
        var token = (await server.IssueTokenAsync("wa")).Token;
        var sent = new List<string>();
        await using (var client = new ParleyClient(new ParleyClientOptions { ServerUri = server.WebSocketUri, Token = token, DeviceId = "d1", Platform = Platform.Linux }))
        {
            await client.ConnectAsync();
            await client.SendTextAsync("wb", "hang", "m-hang");
            sent.Add("m-hang");
            for (var i = 0; i < Messages - 1; i++)
            {
                var id = $"m-{i:D2}";
                await client.SendTextAsync("wb", "n " + i, id);
                sent.Add(id);
            }
        }

        // Mid-retry (every other event failed at least once) and mid-request (m-hang is in the receiver's hands).
        await Wait.ForAsync(hanging.Task, "the receiver holds m-hang's request");
        await Wait.UntilAsync(() => wire.Count(kv => kv.Value >= 2) >= Messages - 1, "every other event was retried", TimeSpan.FromSeconds(30));
        await server.KillAsync();
        hang.TrySetResult();
        Assert.DoesNotContain(processed.Values, v => v != "m-hang");

        Volatile.Write(ref failing, false);
        await server.StartAsync();
        await Wait.UntilAsync(() => processed.Count == Messages, $"every event was processed (have {processed.Count})", TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(
            () => server.Admin.GetFromJsonAsync<JsonElement>("/admin/v1/webhooks/outbox").GetAwaiter().GetResult().GetProperty("pending").GetInt64() == 0,
            "the outbox was drained");

        // Exactly once per message for the receiver, more than once on the wire for the one cut by the kill.
        Assert.Equal(sent.Order(StringComparer.Ordinal), processed.Values.Order(StringComparer.Ordinal));
        Assert.True(wire[await hanging.Task] >= 2, "m-hang's event came again after the restart, with the same event id");
        Assert.Equal(Messages, wire.Count);
        await server.KillAsync();
    }
}
