using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Parley.Testing;

/// <summary>One request the receiver got: the hook (last path segment), the headers it checks and the raw body.</summary>
public sealed record WebhookCall(string Hook, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var value) ? value : string.Empty;
}

/// <summary>
/// A webhook receiver on a loopback Kestrel port that behaves as the test says: answer JSON (allow, modify, reject),
/// answer a status, answer late, or cut the connection. It records every call.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookReceiver(WebApplication app)
    {
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUrl = address.TrimEnd('/') + "/hooks";
    }

    /// <summary>Where the server should POST: <c>{BaseUrl}/{hook}</c>.</summary>
    public string BaseUrl { get; }

    public ConcurrentQueue<WebhookCall> Calls { get; } = new();

    /// <summary>How the receiver answers the next calls (default: an empty 200).</summary>
    public Func<WebhookCall, HttpContext, Task> Behaviour { get; set; } = (_, _) => Task.CompletedTask;

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        WebhookReceiver? receiver = null;
        app.MapPost("/hooks/{hook}", async (string hook, HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
            var call = new WebhookCall(hook, headers, body.ToArray());
            receiver!.Calls.Enqueue(call);
            await receiver.Behaviour(call, context);
        });
        await app.StartAsync();
        receiver = new WebhookReceiver(app);
        return receiver;
    }

    /// <summary>Answers 200 with a JSON body.</summary>
    public static Task AnswerAsync(HttpContext context, object body)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(body), Encoding.UTF8);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
