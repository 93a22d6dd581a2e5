using Microsoft.Extensions.Hosting;
using Parley.Core;
using Parley.Core.Webhooks;

namespace Parley.Gateway.Connections;

/// <summary>
/// The <c>afterUserOnline</c>/<c>afterUserOffline</c> after-hooks, as OpenIM sends them: one event per connection that
/// registers or leaves this node (a user with two devices is online twice). Subscribes only when one is enabled.
/// The event is stored in the outbox right after the change (not in a commit: presence is not stored).
/// </summary>
internal sealed class PresenceWebhooks(ConnectionRegistry registry, Optional<AfterHooks> hooks) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (hooks.Value is { } after)
        {
            if (after.IsEnabled(WebhookOptions.AfterUserOnline))
            {
                registry.ConnectionRegistered += c => _ = after.EnqueueAsync(WebhookOptions.AfterUserOnline, json => Write(json, c));
            }

            if (after.IsEnabled(WebhookOptions.AfterUserOffline))
            {
                registry.ConnectionUnregistered += c => _ = after.EnqueueAsync(WebhookOptions.AfterUserOffline, json => Write(json, c));
            }
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static void Write(System.Text.Json.Utf8JsonWriter json, ClientConnection connection)
    {
        json.WriteString("userID", connection.UserId);
        json.WriteString("deviceID", connection.DeviceId);
        json.WriteString("platform", connection.Platform.ToString().ToLowerInvariant());
        json.WriteString("connID", connection.Id);
    }
}
