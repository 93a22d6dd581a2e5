using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parley.Core.Telemetry;

namespace Parley.Core.Webhooks;

/// <summary>What a before-hook answered, or that the call failed.</summary>
internal readonly record struct HookAnswer(HookOutcome Outcome, JsonDocument? Body, string? FailureReason)
{
    public static HookAnswer Failed(string reason) => new(HookOutcome.Failed, null, reason);
}

internal enum HookOutcome
{
    Answered,
    Failed,
}

/// <summary>
/// Sends signed hook requests: POST JSON with <c>X-Parley-Event-Id</c>, <c>X-Parley-Timestamp</c> and
/// <c>X-Parley-Signature: v1=hex(HMAC-SHA256(secret, "{timestamp}.{body}"))</c> (and OpenIM's <c>operationID</c>),
/// each within its hook's timeout. Counts calls, latency and failures per hook; logs no bodies.
/// </summary>
public sealed partial class WebhookClient : IDisposable
{
    /// <summary>The most of an answer that is read; a longer one is a failed call.</summary>
    internal const int MaxAnswerBytes = 256 * 1024;

    private static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };

    private readonly HttpClient _http;
    private readonly byte[] _key;
    private readonly TimeProvider _clock;
    private readonly ParleyMetrics _metrics;
    private readonly ILogger<WebhookClient> _logger;

    public WebhookClient(IOptions<WebhookOptions> options, TimeProvider clock, ParleyMetrics metrics, ILogger<WebhookClient> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Value;
        _key = Encoding.UTF8.GetBytes(Options.Secret ?? string.Empty);
        _clock = clock;
        _metrics = metrics;
        _logger = logger;

        // One pooled client for every hook; each call's timeout is its own token.
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), AllowAutoRedirect = false })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public WebhookOptions Options { get; }

    /// <summary>The signature header value of <paramref name="body"/> at <paramref name="timestamp"/> (unix seconds).</summary>
    public static string Sign(ReadOnlySpan<byte> key, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(key, signed));
    }

    /// <summary>Calls a before-hook and reads its JSON answer (an empty 2xx answer is an empty object).</summary>
    internal Task<HookAnswer> CallAsync(string hook, HookOptions options, string eventId, byte[] body) => CallAsync(hook, options, eventId, body, readAnswer: true);

    /// <summary>Delivers an after-hook event: null when the receiver answered 2xx (its body is not read), else the failure reason.</summary>
    internal async Task<string?> DeliverAsync(string hook, HookOptions options, string eventId, byte[] body)
    {
        var answer = await CallAsync(hook, options, eventId, body, readAnswer: false).ConfigureAwait(false);
        return answer.Outcome == HookOutcome.Answered ? null : answer.FailureReason;
    }

    private async Task<HookAnswer> CallAsync(string hook, HookOptions options, string eventId, byte[] body, bool readAnswer)
    {
        var started = Stopwatch.GetTimestamp();
        var answer = await SendAsync(hook, options, eventId, body, readAnswer).ConfigureAwait(false);
        var tags = new TagList { { "hook", hook } };
        _metrics.WebhookDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        if (answer.Outcome == HookOutcome.Failed)
        {
            tags.Add("reason", answer.FailureReason);
            _metrics.WebhookFailures.Add(1, tags);
            WebhookFailed(_logger, hook, eventId, answer.FailureReason!);
        }

        return answer;
    }

    internal void Count(string hook, string outcome) => _metrics.WebhookCalls.Add(1, new TagList { { "hook", hook }, { "outcome", outcome } });

    private async Task<HookAnswer> SendAsync(string hook, HookOptions options, string eventId, byte[] body, bool readAnswer)
    {
        var timestamp = _clock.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, Options.UrlOf(hook, options)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = Json;
        request.Headers.Add("operationID", eventId);
        request.Headers.Add("X-Parley-Event-Id", eventId);
        request.Headers.Add("X-Parley-Timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("X-Parley-Signature", Sign(_key, timestamp, body));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(options.TimeoutMs));
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return HookAnswer.Failed("status_" + ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture));
            }

            if (!readAnswer)
            {
                return new HookAnswer(HookOutcome.Answered, null, null);
            }

            if (response.Content.Headers.ContentLength > MaxAnswerBytes)
            {
                return HookAnswer.Failed("bad_answer");
            }

            var bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            if (bytes.Length > MaxAnswerBytes)
            {
                return HookAnswer.Failed("bad_answer");
            }

            try
            {
                var document = JsonDocument.Parse(bytes.Length == 0 ? "{}"u8.ToArray() : bytes);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    document.Dispose();
                    return HookAnswer.Failed("bad_answer");
                }

                return new HookAnswer(HookOutcome.Answered, document, null);
            }
            catch (JsonException)
            {
                return HookAnswer.Failed("bad_answer");
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return HookAnswer.Failed("timeout");
        }
        catch (HttpRequestException)
        {
            return HookAnswer.Failed("unreachable");
        }
    }

    public void Dispose() => _http.Dispose();

    [LoggerMessage(EventId = 5301, Level = LogLevel.Warning, Message = "Webhook {Hook} call {EventId} failed: {Reason}")]
    private static partial void WebhookFailed(ILogger logger, string hook, string eventId, string reason);

    [LoggerMessage(EventId = 5302, Level = LogLevel.Information, Message = "Webhook {Hook} call {EventId} refused the request")]
    internal static partial void WebhookRejected(ILogger logger, string hook, string eventId);

    internal ILogger Logger => _logger;
}
