using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>
/// Issue 15 defect 10: device registration refuses nonsense (numeric or listed vendors, undefined enum values, blank
/// tokens, unknown privacy), and every refusal names the field and the reason: HTTP problem details, the SDK's typed error.
/// </summary>
public sealed class DeviceRegistrationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Theory]
    [InlineData("{\"vendor\":\"42\",\"token\":\"t\"}", "vendor")]
    [InlineData("{\"vendor\":\"-1\",\"token\":\"t\"}", "vendor")]
    [InlineData("{\"vendor\":\"9\",\"token\":\"t\"}", "vendor")]
    [InlineData("{\"vendor\":\"apns,fcm\",\"token\":\"t\"}", "vendor")]
    [InlineData("{\"token\":\"t\"}", "vendor")]
    [InlineData("{\"vendor\":\"fcm\",\"token\":\"   \"}", "token")]
    [InlineData("{\"vendor\":\"fcm\"}", "token")]
    [InlineData("{\"vendor\":\"fcm\",\"token\":\"t\",\"sandbox\":\"yes\"}", "sandbox")]
    [InlineData("{bad", "body")]
    [InlineData("", "body")]
    public async Task Register_Nonsense_IsA400ProblemNamingTheField(string json, string field)
    {
        using var http = await ApiAsync();
        using var response = await http.PutAsync("/api/v1/device", new StringContent(json, Encoding.UTF8, "application/json"));
        await AssertProblemAsync(response, field);
    }

    [Fact]
    public async Task Settings_UnknownPrivacyOrNothing_IsA400ProblemNamingTheField()
    {
        using var http = await ApiAsync();
        await AssertProblemAsync(await http.PutAsJsonAsync("/api/v1/push/settings", new { privacy = "2" }), "privacy");
        await AssertProblemAsync(await http.PutAsJsonAsync("/api/v1/push/settings", new { }), "doNotDisturb");
        Assert.Equal(HttpStatusCode.NoContent, (await http.PutAsJsonAsync("/api/v1/push/settings", new { privacy = "sender_only" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PutAsJsonAsync("/api/v1/device", new { vendor = "web_push", token = "endpoint" })).StatusCode);
    }

    [Fact]
    public async Task Sdk_UndefinedVendorOrPrivacy_BlankToken_ThrowTypedErrorsNamingTheField()
    {
        var client = await Server.ConnectAsync(await Server.CreateUserAsync("dev"));
        var vendor = await Assert.ThrowsAsync<ParleyException>(() => client.RegisterDeviceAsync(new RegisterDeviceRequest { Vendor = (PushVendor)42, Token = "t" }));
        Assert.Equal(ErrorCode.BadRequest, vendor.Code);
        Assert.StartsWith("vendor: ", vendor.Message, StringComparison.Ordinal);
        var token = await Assert.ThrowsAsync<ParleyException>(() => client.RegisterDeviceAsync(new RegisterDeviceRequest { Vendor = PushVendor.Fcm, Token = " \t " }));
        Assert.StartsWith("token: ", token.Message, StringComparison.Ordinal);
        var privacy = await Assert.ThrowsAsync<ParleyException>(() => client.SetPushSettingsAsync(privacy: (PushPrivacy)9));
        Assert.StartsWith("privacy: ", privacy.Message, StringComparison.Ordinal);
        await client.RegisterDeviceAsync(new RegisterDeviceRequest { Vendor = PushVendor.Fcm, Token = "fcm-token" });
    }

    private async Task<HttpClient> ApiAsync()
    {
        var http = new HttpClient { BaseAddress = Server.BaseUri };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await Server.IssueTokenAsync(await Server.CreateUserAsync("dev"), "api"));
        return http;
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, string field)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("BAD_REQUEST", problem.GetProperty("code").GetString());
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        var reasons = problem.GetProperty("errors").GetProperty(field);
        Assert.False(string.IsNullOrWhiteSpace(reasons[0].GetString()));
        Assert.Contains(field, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}

/// <summary>Issue 15 defect 9: the database holds every message, so it is created owner-only like the key files.</summary>
public sealed class DatabaseFileModeTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public void Database_IsCreatedOwnerOnly()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var directory = ((Microsoft.Extensions.Options.IOptions<Parley.Hosting.StorageOptions>)fixture.Server.Services.GetService(typeof(Microsoft.Extensions.Options.IOptions<Parley.Hosting.StorageOptions>))!).Value.DataDirectory;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(directory, "parley.db")));
    }
}
