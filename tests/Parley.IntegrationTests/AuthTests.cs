using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.Options;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

public sealed class AuthTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task NonMember_CannotSendReadMarkOrTypeInAGroup()
    {
        var owner = await Server.CreateUserAsync("owner");
        var member = await Server.CreateUserAsync("member");
        var outsider = await Server.CreateUserAsync("outsider");
        var ownerClient = await Server.ConnectAsync(owner);
        var group = await ownerClient.CreateGroupAsync("private", [member]);
        await ownerClient.SendTextToConversationAsync(group.ConversationId, "members only");

        var client = await Server.ConnectAsync(outsider);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => client.SendTextToConversationAsync(group.ConversationId, "let me in"))).Code);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => client.GetHistoryAsync(group.ConversationId, 0, Direction.Backward, 10))).Code);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => client.MarkReadAsync(group.ConversationId, 1))).Code);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => client.UpdateConversationAsync(group.ConversationId, pinned: true))).Code);
        Assert.DoesNotContain((await client.GetConversationsAsync()).Conversations, c => c.ConversationId == group.ConversationId);
    }

    [Fact]
    public async Task NonMember_CannotUseSomeoneElsesDirectConversation()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var eve = await Server.CreateUserAsync("eve");
        var aliceClient = await Server.ConnectAsync(alice);
        var ack = await aliceClient.SendTextAsync(bob, "between us");

        var eveClient = await Server.ConnectAsync(eve);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => eveClient.SendTextToConversationAsync(ack.ConversationId, "hi"))).Code);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => eveClient.GetHistoryAsync(ack.ConversationId, 0, Direction.Backward, 10))).Code);
        Assert.Equal(ErrorCode.NotMember, (await Assert.ThrowsAsync<ParleyException>(() => eveClient.RevokeAsync(ack.ConversationId, ack.Seq))).Code);
    }

    [Fact]
    public async Task Token_ForA_CannotActAsB()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var carol = await Server.CreateUserAsync("carol");
        var aliceToken = await Server.IssueTokenAsync(alice, "d1");

        // Identity comes from the token: whatever alice's client does, the sender is alice.
        var aliceClient = await Server.CreateClientAsync(alice, "d1", Platform.Linux, token: aliceToken);
        await aliceClient.ConnectAsync();
        Assert.Equal(alice, aliceClient.UserId);
        var carolRecorder = new Recorder(await Server.CreateClientAsync(carol));
        await carolRecorder.Client.ConnectAsync();
        var ack = await aliceClient.SendTextAsync(carol, "it's me");
        await carolRecorder.WaitForMessagesAsync(ack.ConversationId, 1);
        Assert.Equal(alice, carolRecorder.MessagesIn(ack.ConversationId).Single().SenderId);

        // A token whose payload is edited to name bob fails its signature.
        var parts = aliceToken.Split('.');
        var payload = Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(parts[1]));
        var forgedPayload = payload.Replace(alice, bob, StringComparison.Ordinal);
        var forged = $"{parts[0]}.{System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(forgedPayload))}.{parts[2]}";
        var refused = await Assert.ThrowsAsync<ParleyException>(async () =>
        {
            var c = await Server.CreateClientAsync(bob, "d1", Platform.Linux, token: forged);
            await c.ConnectAsync();
        });
        Assert.Equal(ErrorCode.Unauthenticated, refused.Code);

        // The token is bound to its device.
        var otherDevice = await Assert.ThrowsAsync<ParleyException>(async () =>
        {
            var c = await Server.CreateClientAsync(alice, "another-device", Platform.Linux, token: aliceToken);
            await c.ConnectAsync();
        });
        Assert.Equal(ErrorCode.Forbidden, otherDevice.Code);
    }

    [Fact]
    public async Task Token_Revoked_ClosesLiveConnectionWithinASecondAndIsRefusedAfter()
    {
        var user = await Server.CreateUserAsync("revokee");
        var issued = await (await Server.Admin.PostAsJsonAsync($"/admin/v1/users/{user}/tokens", new { deviceId = "d1", platform = "linux" })).Content.ReadFromJsonAsync<TokenBody>();
        var recorder = new Recorder(await Server.CreateClientAsync(user, "d1", Platform.Linux, token: issued!.Token));
        await recorder.Client.ConnectAsync();

        var started = DateTime.UtcNow;
        var response = await Server.Admin.DeleteAsync($"/admin/v1/tokens/{issued.TokenId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Wait.UntilAsync(() => recorder.Kicks.Any(k => k.Reason == KickReason.TokenRevoked), "the connection was kicked", TimeSpan.FromSeconds(1));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(1));
        await Wait.UntilAsync(() => recorder.Client.State == ConnectionState.Disconnected, "the client stopped", TimeSpan.FromSeconds(2));

        var again = await Assert.ThrowsAsync<ParleyException>(async () =>
        {
            var c = await Server.CreateClientAsync(user, "d1", Platform.Linux, token: issued.Token);
            await c.ConnectAsync();
        });
        Assert.Equal(ErrorCode.TokenRevoked, again.Code);
    }

    [Fact]
    public async Task ForceLogout_KicksEveryDeviceAndRevokesTokens()
    {
        var user = await Server.CreateUserAsync("logout");
        var phone = new Recorder(await Server.CreateClientAsync(user, "phone", Platform.Ios));
        var desk = new Recorder(await Server.CreateClientAsync(user, "desk", Platform.Windows));
        await phone.Client.ConnectAsync();
        await desk.Client.ConnectAsync();

        var response = await Server.Admin.PostAsJsonAsync($"/admin/v1/users/{user}/logout", new { });
        var body = await response.Content.ReadFromJsonAsync<LogoutBody>();
        Assert.Equal(2, body!.ClosedConnections);
        Assert.Equal(2, body.RevokedTokens);
        await Wait.UntilAsync(() => phone.Kicks.Count == 1 && desk.Kicks.Count == 1, "both devices were kicked", TimeSpan.FromSeconds(1));
        Assert.Equal(KickReason.ForceLogout, phone.Kicks[0].Reason);
    }

    [Fact]
    public async Task AdminApi_WithoutOrWithWrongSecret_Is401()
    {
        using var anonymous = new HttpClient { BaseAddress = Server.BaseUri };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/admin/v1/users", new { userId = "x" })).StatusCode);
        anonymous.DefaultRequestHeaders.Authorization = new("Bearer", new string('a', 64));
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/admin/v1/users/x")).StatusCode);
    }

    [Fact]
    public async Task AdminApi_BadInput_GetsTypedErrors()
    {
        Assert.Equal(HttpStatusCode.BadRequest, (await Server.Admin.PostAsJsonAsync("/admin/v1/users", new { userId = "bad id with spaces" })).StatusCode);
        var user = await Server.CreateUserAsync("dup");
        var duplicate = await Server.Admin.PostAsJsonAsync("/admin/v1/users", new { userId = user });
        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.Contains("already_exists", await duplicate.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await Server.Admin.PostAsJsonAsync($"/admin/v1/users/{user}/tokens", new { deviceId = "d1", platform = "toaster" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Server.Admin.PostAsJsonAsync("/admin/v1/users/nobody-here/tokens", new { deviceId = "d1", platform = "ios" })).StatusCode);

        var patched = await Server.Admin.PatchAsJsonAsync($"/admin/v1/users/{user}", new { nickname = "New Name", ex = new { level = 3 } });
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var text = await patched.Content.ReadAsStringAsync();
        Assert.Contains("New Name", text, StringComparison.Ordinal);
        Assert.Contains("\"level\":3", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("too-short-secret")]
    [InlineData("change-me-change-me-change-me-change-me")]
    public async Task Server_RefusesToStart_WithEmptyShortOrSampleAdminSecret(string secret)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Admin:Secret"] = secret }));
        Assert.Contains("Parley:Admin:Secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_RefusesToStart_InDurableModeWithoutFullSync()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Storage:Synchronous"] = "Normal" }));
        Assert.Contains("Durable", error.Message, StringComparison.Ordinal);
    }

    private sealed record TokenBody(string Token, string TokenId, long ExpiresAt);

    private sealed record LogoutBody(int RevokedTokens, int ClosedConnections);
}

public sealed class TokenExpiryTests
{
    [Fact]
    public async Task Token_Expired_IsRefusedAndLiveConnectionKicked()
    {
        await using var server = await TestServer.StartAsync();
        var user = await server.CreateUserAsync("exp");
        var token = await server.IssueTokenAsync(user, "d1", "linux", ttlSeconds: 120);
        var recorder = new Recorder(await server.CreateClientAsync(user, "d1", Platform.Linux, token: token));
        await recorder.Client.ConnectAsync();

        server.Clock.Offset = TimeSpan.FromMinutes(3);
        await Wait.UntilAsync(() => recorder.Kicks.Any(k => k.Reason == KickReason.TokenExpired), "the expired session was kicked", TimeSpan.FromSeconds(3));

        var refused = await Assert.ThrowsAsync<ParleyException>(async () =>
        {
            var c = await server.CreateClientAsync(user, "d1", Platform.Linux, token: token);
            await c.ConnectAsync();
        });
        Assert.Equal(ErrorCode.TokenExpired, refused.Code);
    }
}
