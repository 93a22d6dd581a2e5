using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Parley.Cli.Internal;

/// <summary>The admin API over HTTP: bearer credential, JSON in and out, the server's error body turned into a <see cref="CliException"/>.</summary>
internal sealed class AdminClient : IDisposable
{
    private readonly HttpClient _http;

    public AdminClient(CliSettings settings)
    {
        _http = new HttpClient { BaseAddress = settings.Url, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", settings.Token);
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("parley-cli", typeof(AdminClient).Assembly.GetName().Version?.ToString() ?? "0"));
    }

    public Task<JsonElement> GetAsync(string path, CancellationToken cancellationToken) => SendAsync(HttpMethod.Get, path, null, cancellationToken);

    public Task<JsonElement> PostAsync(string path, object? body, CancellationToken cancellationToken) => SendAsync(HttpMethod.Post, path, body, cancellationToken);

    public Task<JsonElement> DeleteAsync(string path, CancellationToken cancellationToken) => SendAsync(HttpMethod.Delete, path, null, cancellationToken);

    public Task<JsonElement> PutAsync(string path, object? body, CancellationToken cancellationToken) => SendAsync(HttpMethod.Put, path, body, cancellationToken);

    public async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = body switch
            {
                HttpContent content => content,
                _ => new StringContent(Serialize(body), Encoding.UTF8, "application/json"),
            };
        }

        using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(text))
        {
            return JsonDocument.Parse("{}").RootElement;
        }

        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    /// <summary>Sends and throws <see cref="CliException"/> unless the answer is a success; the caller disposes the response.</summary>
    public async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new CliException($"Cannot reach {_http.BaseAddress}: {e.Message}");
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var (code, message) = ParseError(text);
            var hint = response.StatusCode switch
            {
                HttpStatusCode.Unauthorized => " (check the token: the admin secret or an unexpired operator token)",
                HttpStatusCode.Forbidden => " (the operator token lacks the scope for this command)",
                _ => string.Empty,
            };
            throw new CliException($"{(int)response.StatusCode} {code}: {message}{hint}");
        }
    }

    public void Dispose() => _http.Dispose();

    public static string Serialize(object body) => body switch
    {
        JsonElement e => e.GetRawText(),
        Dictionary<string, object?> d => JsonSerializer.Serialize(d, CliJsonContext.Default.DictionaryStringObject),
        _ => throw new ArgumentException("Unsupported body type.", nameof(body)),
    };

    private static (string Code, string Message) ParseError(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                return (error.TryGetProperty("code", out var c) ? c.GetString() ?? "error" : "error", error.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "");
            }

            // RFC 9457 problem details (the device API) or anything else JSON.
            return (root.TryGetProperty("code", out var pc) ? pc.GetString() ?? "error" : "error",
                root.TryGetProperty("detail", out var d) ? d.GetString() ?? text : text);
        }
        catch (JsonException)
        {
            return ("error", text.Length > 200 ? text[..200] : text);
        }
    }
}
