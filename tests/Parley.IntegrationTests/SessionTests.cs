using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

public sealed class SessionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private TestServer Server => fixture.Server;

    [Fact]
    public async Task MultiLogin_SamePlatformClass_OldIsKickedAndCannotCloseTheNew()
    {
        var user = await Server.CreateUserAsync("multi");
        var friend = await Server.CreateUserAsync("friend");
        var friendClient = await Server.ConnectAsync(friend);
        var old = new Recorder(await Server.CreateClientAsync(user, "laptop", Platform.Linux));
        await old.Client.ConnectAsync();

        var replacement = new Recorder(await Server.CreateClientAsync(user, "desktop", Platform.Windows));
        await replacement.Client.ConnectAsync();

        await Wait.UntilAsync(() => old.Kicks.Any(k => k.Reason == KickReason.Displaced), "the old desktop session was kicked");
        await Wait.UntilAsync(() => old.Client.State == ConnectionState.Disconnected, "the old client stopped");
        Assert.DoesNotContain(old.States, s => s.State == ConnectionState.Reconnecting && s.PreviousState == ConnectionState.Disconnected);
        Assert.Equal(ConnectionState.Connected, replacement.Client.State);

        // The displaced client going away does not disturb the new session.
        await old.Client.DisposeAsync();
        var ack = await friendClient.SendTextAsync(user, "are you there?");
        await replacement.WaitForMessagesAsync(ack.ConversationId, 1);
        Assert.Empty(replacement.Kicks);
        await replacement.Client.PingAsync();
    }

    [Fact]
    public async Task MultiLogin_DifferentPlatformClasses_BothStayAndBothReceive()
    {
        var user = await Server.CreateUserAsync("multi");
        var friend = await Server.CreateUserAsync("friend");
        var phone = new Recorder(await Server.CreateClientAsync(user, "phone", Platform.Ios));
        var web = new Recorder(await Server.CreateClientAsync(user, "browser", Platform.Web));
        await phone.Client.ConnectAsync();
        await web.Client.ConnectAsync();
        var ack = await (await Server.ConnectAsync(friend)).SendTextAsync(user, "to all devices");
        await phone.WaitForMessagesAsync(ack.ConversationId, 1);
        await web.WaitForMessagesAsync(ack.ConversationId, 1);
        Assert.Empty(phone.Kicks);
        Assert.Empty(web.Kicks);
    }

    [Fact]
    public async Task SameDevice_Reconnecting_ReplacesItsOldConnection()
    {
        var user = await Server.CreateUserAsync("same");
        var first = new Recorder(await Server.CreateClientAsync(user, "d1", Platform.Android));
        await first.Client.ConnectAsync();
        var second = new Recorder(await Server.CreateClientAsync(user, "d1", Platform.Android));
        await second.Client.ConnectAsync();
        await Wait.UntilAsync(() => first.Kicks.Count == 1, "the stale connection of the same device was replaced");
        await second.Client.PingAsync();
    }
}
