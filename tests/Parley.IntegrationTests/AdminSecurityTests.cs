using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using Parley.IntegrationTests.Infrastructure;

namespace Parley.IntegrationTests;

/// <summary>Issue 15, defect 1: the admin API and the device API authenticate before reading a body, and cap bodies.</summary>
public sealed class AdminSecurityTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    public static TheoryData<string, string> Protected => new()
    {
        { "POST", "/admin/v1/users" },
        { "PATCH", "/admin/v1/users/someone" },
        { "POST", "/admin/v1/groups" },
        { "POST", "/admin/v1/operators" },
        { "POST", "/admin/v1/directory/departments" },
        { "POST", "/admin/v1/directory/imports?format=csv" },
        { "POST", "/admin/v1/push/dead-letters/x/replay" },
        { "PUT", "/api/v1/device" },
        { "PUT", "/api/v1/push/settings" },
        { "POST", "/api/v1/push/abc/arrived" },
    };

    [Theory]
    [MemberData(nameof(Protected))]
    public async Task MalformedBody_WithoutOrWithWrongCredential_Is401(string method, string path)
    {
        using var http = new HttpClient { BaseAddress = Server.BaseUri };
        foreach (var credential in new string?[] { null, "wrong-secret-wrong-secret-wrong-secret", "pop_0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("{bad", Encoding.UTF8, "application/json") };
            if (credential is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
            }

            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<ErrorEnvelope>();
            Assert.Equal("unauthenticated", body!.Error.Code);
        }
    }

    [Theory]
    [InlineData("POST", "/admin/v1/users")]
    [InlineData("PUT", "/api/v1/push/settings")]
    public async Task HugeBody_WithWrongCredential_IsRefusedBeforeTheBodyArrives(string method, string path)
    {
        // Announce 25 MB, send 1 KB of it and wait: the answer must come without the server waiting for (or buffering) the rest.
        var status = await SendPartialAsync(path, "Bearer not-a-valid-credential-at-all-0000000000000", declaredLength: 25 * 1024 * 1024, method);
        Assert.Equal(401, status);
    }

    [Fact]
    public async Task AdminBody_OverTheCap_Is413()
    {
        var status = await SendPartialAsync("/admin/v1/users", "Bearer " + Server.AdminSecret, declaredLength: 2 * 1024 * 1024);
        Assert.Equal(413, status);

        // A chunked body (no declared length) over the cap is refused as well, and nothing is created.
        using var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"userId\":\"big-chunked\",\"nickname\":\"" + new string('x', 1_100_000) + "\"}")));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/users") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await Server.Admin.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin.GetAsync("/admin/v1/users/big-chunked")).StatusCode);
    }

    [Fact]
    public async Task DeviceBody_OverTheCap_Is413_AndMalformedWithAValidToken_Is400()
    {
        var user = await Server.CreateUserAsync("dev");
        var token = await Server.IssueTokenAsync(user, "d1");
        var status = await SendPartialAsync("/api/v1/device", "Bearer " + token, declaredLength: 1024 * 1024, method: "PUT");
        Assert.Equal(413, status);

        using var http = new HttpClient { BaseAddress = Server.BaseUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var bad = await http.PutAsync("/api/v1/device", new StringContent("{bad", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task MalformedBody_WithTheAdminSecret_Is400()
    {
        using var response = await Server.Admin.PostAsync("/admin/v1/users", new StringContent("{bad", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    /// <summary>Sends headers and the first KB of a body of <paramref name="declaredLength"/> bytes; returns the status the server answers with.</summary>
    private async Task<int> SendPartialAsync(string path, string authorization, long declaredLength, string method = "POST")
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(Server.BaseUri.Host, Server.BaseUri.Port);
        var stream = tcp.GetStream();
        var head = $"{method} {path} HTTP/1.1\r\nHost: {Server.BaseUri.Authority}\r\nAuthorization: {authorization}\r\nContent-Type: application/json\r\nContent-Length: {declaredLength}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(Encoding.ASCII.GetBytes("{\"userId\":\"" + new string('a', 1000)));
        await stream.FlushAsync();

        var buffer = new byte[256];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var read = await stream.ReadAsync(buffer, timeout.Token);
        var statusLine = Encoding.ASCII.GetString(buffer, 0, read).Split("\r\n")[0];
        Assert.StartsWith("HTTP/1.1 ", statusLine, StringComparison.Ordinal);
        return int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed record ErrorEnvelope(ErrorDetail Error);

    private sealed record ErrorDetail(string Code, string Message);
}
