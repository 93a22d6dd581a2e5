using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Parley.Push.Vendors.WebPush;

namespace Parley.Push.Tests.Simulators;

/// <summary>
/// A Web Push service: subscriptions with their own ECDH keys; checks the VAPID header (ES256 JWT with aud = origin,
/// exp ≤ 24 h, sub; k = the public key), TTL, Content-Encoding aes128gcm, and decrypts the body (RFC 8291) to prove it.
/// Answers 201 Created, 410 Gone for expired subscriptions.
/// </summary>
public sealed class WebPushSimulator(TimeProvider time) : SimServer(http2Tls: false, time)
{
    private readonly ConcurrentDictionary<string, (ECDiffieHellman Key, byte[] Auth)> _subs = new();

    public ECDsa VapidKey { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public string VapidPublicKey => JsonHelpers.ToB64Url([0x04, .. VapidKey.ExportParameters(false).Q.X!, .. VapidKey.ExportParameters(false).Q.Y!]);

    public string VapidPrivateKey => JsonHelpers.ToB64Url(VapidKey.ExportParameters(true).D!);

    public ConcurrentQueue<JsonNode> Decrypted { get; } = new();

    /// <summary>Creates a browser subscription; returns the JSON the browser would hand to the app (the device token).</summary>
    public string Subscribe(string id)
    {
        var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var auth = RandomNumberGenerator.GetBytes(16);
        _subs[id] = (key, auth);
        return new JsonObject
        {
            ["endpoint"] = new Uri(BaseUri, "/push/" + id).ToString(),
            ["keys"] = new JsonObject { ["p256dh"] = JsonHelpers.ToB64Url(WebPushCrypto.PublicKeyBytes(key)), ["auth"] = JsonHelpers.ToB64Url(auth) },
        }.ToJsonString();
    }

    protected override string? PushIdOf(HttpContext context, byte[] body) => null;

    protected override void Map(WebApplication app) =>
        app.MapPost("/push/{id}", async (HttpContext ctx, string id) =>
        {
            var body = await ReadBodyAsync(ctx.Request);
            var status = 201;
            string? pushId = null;
            var auth = ctx.Request.Headers.Authorization.ToString();
            var parts = auth.StartsWith("vapid ", StringComparison.Ordinal)
                ? auth[6..].Split(',', StringSplitOptions.TrimEntries).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1])
                : [];
            var verified = parts.TryGetValue("t", out var t) ? JsonHelpers.VerifyEs256(t, VapidKey) : null;
            if (verified is not { } v || parts.GetValueOrDefault("k") != VapidPublicKey
                || v.Claims["aud"]?.GetValue<string>() != BaseUri.GetLeftPart(UriPartial.Authority)
                || v.Claims["exp"]!.GetValue<long>() > Time.GetUtcNow().AddHours(24).ToUnixTimeSeconds()
                || v.Claims["sub"] is null)
            {
                status = 403;
            }
            else if (ctx.Request.Headers["TTL"].Count == 0 || ctx.Request.Headers.ContentEncoding.ToString() != "aes128gcm")
            {
                status = 400;
            }
            else if (body.Length > 4096)
            {
                status = 413;
            }
            else if (InvalidTokens.ContainsKey(id) || !_subs.TryGetValue(id, out var sub))
            {
                status = 410;
            }
            else
            {
                try
                {
                    var plain = JsonNode.Parse(WebPushCrypto.Decrypt(body, sub.Key, sub.Auth))!;
                    Decrypted.Enqueue(plain);
                    pushId = plain["parley"]?["push_id"]?.GetValue<string>();
                }
                catch (CryptographicException)
                {
                    status = 400;
                }
            }

            Record(ctx, body, pushId, status, status == 201);
            return Results.StatusCode(status);
        });
}
