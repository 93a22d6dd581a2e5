namespace Parley.IntegrationTests.Infrastructure;

/// <summary>
/// A real server whose webhooks call one real receiver on loopback: the receiver starts first, then the server with
/// the receiver's URL, the test secret and the fixture's own hook settings; both are disposed with the fixture.
/// </summary>
public abstract class WebhookServerFixture : IAsyncLifetime
{
    /// <summary>The signing secret of every webhook fixture's server.</summary>
    public const string Secret = "test-webhook-secret-0123456789-abcdefghij";

    public WebhookReceiver Receiver { get; private set; } = null!;

    public TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Receiver = await WebhookReceiver.StartAsync();
        var settings = Settings(Receiver);
        settings["Parley:Webhooks:Url"] = Receiver.BaseUrl;
        settings["Parley:Webhooks:Secret"] = Secret;
        Server = await TestServer.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await Receiver.DisposeAsync();
    }

    /// <summary>The server's settings besides the webhook URL and secret; called once the receiver listens (it may set its behaviour).</summary>
    protected abstract Dictionary<string, string?> Settings(WebhookReceiver receiver);
}
