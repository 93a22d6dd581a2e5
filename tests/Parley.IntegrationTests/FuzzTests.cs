using System.Net.Http.Json;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using CsCheck;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Parley.Core.Auth;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.IntegrationTests;

/// <summary>
/// Issue 15 fuzzing (CsCheck): the native frame decoder, token parsing and the device API's JSON bodies take random and
/// mutated input against the real server. No input crashes it or gets an internal error; bad input gets a typed error.
/// </summary>
public sealed class FuzzTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    /// <summary>The golden client frames (binary), the seeds of the mutations.</summary>
    private static byte[][] GoldenClientFrames()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "protocol", "golden", "v1", "frames.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return [.. document.RootElement.GetProperty("frames").EnumerateArray()
            .Where(f => f.GetProperty("type").GetString() == "ClientFrame")
            .Select(f => Convert.FromHexString(f.GetProperty("hex").GetString()!))];
    }

    [Fact]
    public void FrameCodec_RandomAndMutatedBytes_DecodeOrRefuseWithoutThrowing()
    {
        var golden = GoldenClientFrames();
        Assert.NotEmpty(golden);
        Gen.OneOf(Fuzz.Bytes(2048), Fuzz.Mutations(golden)).Sample(bytes =>
        {
            if (FrameCodec.TryDecodeClient(bytes, out var frame))
            {
                // Whatever decoded must encode again (no half-built message escapes the codec).
                Assert.NotNull(frame.ToByteArray());
            }

            FrameCodec.TryDecodeServer(bytes, out _);
        }, iter: Fuzz.Iterations(20_000));
    }

    [Fact]
    public async Task NativeConnection_FuzzedFramesAfterHello_AreAnsweredWithTypedErrors_TheConnectionAndServerLive()
    {
        var user = await Server.CreateUserAsync("fuzz");
        var token = await Server.IssueTokenAsync(user, "d1");
        var golden = GoldenClientFrames();
        var connection = await ConnectAsync(token);
        var sent = 0;
        try
        {
            await Gen.OneOf(Fuzz.Bytes(4096), Fuzz.Mutations(golden)).SampleAsync(async bytes =>
            {
                // The malformed-frame budget closes a connection after a few bad frames (4009): use a fresh one then.
                if (connection.CloseStatus is not null || ++sent % 3 == 0)
                {
                    await connection.DisposeAsync();
                    connection = await ConnectAsync(token);
                }

                await connection.SendBytesAsync(bytes);
                await connection.SendAsync(new ClientFrame { RequestId = 4_000_000_000, Ping = new Ping() });
                while (await connection.ReceiveAsync(TimeSpan.FromSeconds(20)) is { } frame)
                {
                    Assert.False(frame.Error?.Code == ErrorCode.Internal, $"internal error for {Convert.ToHexString(bytes)}: {frame.Error?.Message}");
                    if (frame.RequestId == 4_000_000_000 && frame.BodyCase == ServerFrame.BodyOneofCase.Pong)
                    {
                        return;
                    }
                }

                // Closed (a frame the protocol forbids, e.g. a second Hello or too many malformed frames): with a close
                // code, never the server-error close and never an abort (which would have thrown above).
                Assert.True(connection.CloseStatus is { } code && code != (int)WebSocketCloseStatus.InternalServerError,
                    $"closed with {connection.CloseStatus} after {Convert.ToHexString(bytes)}");
            }, iter: Fuzz.Iterations(150), threads: 1);
        }
        finally
        {
            await connection.DisposeAsync();
        }

        Assert.True(sent > 0);
        await using var client = await Server.ConnectAsync(user, "after");
        Assert.Equal(Parley.Sdk.ConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task TokenValidation_RandomAndMutatedTokens_AreRefusedNeverThrow()
    {
        var user = await Server.CreateUserAsync("tok");
        var token = await Server.IssueTokenAsync(user, "d1");
        var tokens = Server.Services.GetRequiredService<TokenService>();
        Assert.Equal(TokenStatus.Valid, (await tokens.ValidateAsync(token)).Status);
        var alphabet = Gen.OneOf(Gen.Char["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/"], Gen.Char);
        var random = Gen.OneOf(
            alphabet.Array[0, 300].Select(c => new string(c)),
            alphabet.Array[0, 120].Select(c => "pt1." + new string(c)),
            Fuzz.Mutations([Encoding.ASCII.GetBytes(token)]).Select(b => Encoding.Latin1.GetString(b)));
        await random.SampleAsync(async candidate =>
        {
            var (status, _) = await tokens.ValidateAsync(candidate);
            Assert.True(candidate == token || status != TokenStatus.Valid, $"'{candidate}' validated");
        }, iter: Fuzz.Iterations(5_000), threads: 1);
    }

    [Fact]
    public async Task DeviceApi_RandomJsonBodies_AreA4xxProblemOrAccepted_Never5xx()
    {
        using var http = new HttpClient { BaseAddress = Server.BaseUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await Server.IssueTokenAsync(await Server.CreateUserAsync("jdev"), "api"));
        string[] fields = ["vendor", "token", "appId", "environment", "notificationsEnabled", "locale", "timeZone", "privacy", "doNotDisturb", "platform", "deviceId"];
        await Fuzz.Json(fields).SampleAsync(async json =>
        {
            foreach (var (method, path) in new[] { (HttpMethod.Put, "/api/v1/device"), (HttpMethod.Put, "/api/v1/push/settings") })
            {
                using var request = new HttpRequestMessage(method, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
                using var response = await http.SendAsync(request);
                var status = (int)response.StatusCode;
                Assert.True(status < 500, $"{path} answered {status} to {json}");
                if (status == 400)
                {
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                    var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
                    Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()), json);
                }
            }
        }, iter: Fuzz.Iterations(150), threads: 1);
    }

    private async Task<RawClient> ConnectAsync(string token)
    {
        var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(token, "d1");
        return raw;
    }
}
