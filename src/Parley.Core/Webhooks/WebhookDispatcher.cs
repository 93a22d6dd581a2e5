using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Webhooks;
using Parley.Core.Telemetry;

namespace Parley.Core.Webhooks;

/// <summary>
/// Delivers after-hook events from the durable outbox (ADR 0012): claims due events under a lease, POSTs each (signed,
/// with its event id) with at most <see cref="WebhookDeliveryOptions.MaxConcurrencyPerEndpoint"/> requests in flight per
/// endpoint, marks it delivered on 2xx, otherwise retries it with exponential back-off and jitter until it is
/// dead-lettered after <see cref="WebhookDeliveryOptions.MaxAttempts"/> attempts or <see cref="WebhookDeliveryOptions.MaxAgeMinutes"/>.
/// At least once: an event whose outcome was not recorded (the process died mid-request) is attempted again with the
/// same event id, so receivers deduplicate by it. Every node of a cluster runs one; the lease keeps them apart.
/// </summary>
public sealed partial class WebhookDispatcher : BackgroundService
{
    private static readonly TimeSpan CountInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan PurgeInterval = TimeSpan.FromMinutes(10);

    private readonly IWebhookOutbox _outbox;
    private readonly WebhookClient _client;
    private readonly WebhookSignal _signal;
    private readonly TimeProvider _clock;
    private readonly ParleyMetrics _metrics;
    private readonly ILogger<WebhookDispatcher> _logger;
    private readonly bool _sharedOutbox;
    private readonly WebhookDeliveryOptions _delivery;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _endpoints = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _inFlight = new(StringComparer.Ordinal);

    /// <param name="sharedOutbox">True in a cluster: other nodes deliver from the same outbox, so leases are left to expire instead of being released at start.</param>
    public WebhookDispatcher(IWebhookOutbox outbox, WebhookClient client, WebhookSignal signal, TimeProvider clock, ParleyMetrics metrics, ILogger<WebhookDispatcher> logger, bool sharedOutbox)
    {
        _outbox = outbox;
        _client = client;
        _signal = signal;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
        _sharedOutbox = sharedOutbox;
        _delivery = client.Options.Delivery;
        Owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    }

    /// <summary>This node's lease owner name: unique per process.</summary>
    public string Owner { get; }

    /// <summary>The back-off before attempt <paramref name="attempts"/> + 1: doubling from the initial one, capped, 50..100 % of it.</summary>
    public static TimeSpan Backoff(WebhookDeliveryOptions delivery, int attempts, double random)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var exponent = Math.Min(Math.Max(attempts - 1, 0), 30);
        var full = Math.Min(delivery.MaxBackoffMs, delivery.InitialBackoffMs * Math.Pow(2, exponent));
        return TimeSpan.FromMilliseconds(full * (0.5 + (0.5 * random)));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastCount = 0L;
        var lastPurge = 0L;
        var poll = TimeSpan.FromMilliseconds(_delivery.PollIntervalMs);
        try
        {
            if (!_sharedOutbox)
            {
                // One node owns this outbox: leases of the previous process are void, its events are due again now.
                await _outbox.ReleaseAllLeasesAsync(stoppingToken).ConfigureAwait(false);
            }

            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
                    if (now - lastCount >= CountInterval.TotalMilliseconds)
                    {
                        var counts = await _outbox.CountAsync(stoppingToken).ConfigureAwait(false);
                        _metrics.SetWebhookOutbox(counts.Pending, counts.DeadLettered);
                        lastCount = now;
                    }

                    if (now - lastPurge >= PurgeInterval.TotalMilliseconds)
                    {
                        await _outbox.PurgeDeliveredAsync(now - ((long)_delivery.RetentionHours * 3_600_000), stoppingToken).ConfigureAwait(false);
                        lastPurge = now;
                    }

                    var room = _delivery.BatchSize - _inFlight.Count;
                    if (room > 0)
                    {
                        var claimed = await _outbox.ClaimAsync(Owner, now, now + (_delivery.LeaseSeconds * 1000L), room, stoppingToken).ConfigureAwait(false);
                        foreach (var @event in claimed)
                        {
                            // Registered before it starts, so its own removal can never run first.
                            var delivery = new Task<Task>(() => DeliverAsync(@event));
                            if (_inFlight.TryAdd(@event.EventId, delivery.Unwrap()))
                            {
                                delivery.Start(TaskScheduler.Default);
                            }
                        }

                        if (claimed.Count == room)
                        {
                            continue; // more may be due
                        }
                    }

                    await _signal.WaitAsync(poll, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    LogLoopFailed(_logger, ex);
                    await Task.Delay(poll, _clock, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            // Let the requests in flight finish (each within its hook's timeout) and record their outcome.
            await Task.WhenAll(_inFlight.Values).ConfigureAwait(false);
        }
    }

    private async Task DeliverAsync(WebhookEvent @event)
    {
        var outcome = "lease_lost";
        try
        {
            var attempts = @event.Attempts + 1;
            if (_client.Options.Enabled(@event.Hook) is not { } options)
            {
                // The hook was switched off after the event was stored: kept as a dead letter an operator can replay.
                outcome = await _outbox.DeadLetterAsync(@event.EventId, Owner, @event.Attempts, Now(), "hook_disabled").ConfigureAwait(false) ? "dead_lettered" : outcome;
                return;
            }

            var endpoint = _client.Options.UrlOf(@event.Hook, options).GetLeftPart(UriPartial.Authority);
            var gate = _endpoints.GetOrAdd(endpoint, _ => new SemaphoreSlim(_delivery.MaxConcurrencyPerEndpoint, _delivery.MaxConcurrencyPerEndpoint));
            string? failure;
            await gate.WaitAsync().ConfigureAwait(false);
            try
            {
                failure = await _client.DeliverAsync(@event.Hook, options, @event.EventId, Encoding.UTF8.GetBytes(@event.Payload)).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }

            var now = Now();
            if (failure is null)
            {
                outcome = await _outbox.MarkDeliveredAsync(@event.EventId, Owner, attempts, now).ConfigureAwait(false) ? "delivered" : outcome;
            }
            else if (attempts >= _delivery.MaxAttempts || now - @event.CreatedAt >= _delivery.MaxAgeMinutes * 60_000L)
            {
                if (await _outbox.DeadLetterAsync(@event.EventId, Owner, attempts, now, failure).ConfigureAwait(false))
                {
                    outcome = "dead_lettered";
                    LogDeadLettered(_logger, @event.Hook, @event.EventId, attempts, failure);
                }
            }
            else
            {
                var next = now + (long)Backoff(_delivery, attempts, Random.Shared.NextDouble()).TotalMilliseconds;
                outcome = await _outbox.RescheduleAsync(@event.EventId, Owner, attempts, next, failure).ConfigureAwait(false) ? "retried" : outcome;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The lease runs out and the event is attempted again (by this node after a restart, or by another node).
            outcome = "error";
            LogDeliveryFailed(_logger, ex, @event.Hook, @event.EventId);
        }
        finally
        {
            _metrics.WebhookDeliveries.Add(1, new TagList { { "hook", @event.Hook }, { "outcome", outcome } });
            _inFlight.TryRemove(@event.EventId, out _);
            _signal.Notify();
        }
    }

    private long Now() => _clock.GetUtcNow().ToUnixTimeMilliseconds();

    [LoggerMessage(EventId = 5304, Level = LogLevel.Error, Message = "The webhook outbox dispatcher failed; it tries again")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5305, Level = LogLevel.Warning, Message = "Webhook {Hook} event {EventId} was dead-lettered after {Attempts} attempts: {Reason}")]
    private static partial void LogDeadLettered(ILogger logger, string hook, string eventId, int attempts, string reason);

    [LoggerMessage(EventId = 5306, Level = LogLevel.Error, Message = "Webhook {Hook} event {EventId}: recording the delivery outcome failed")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception exception, string hook, string eventId);
}
