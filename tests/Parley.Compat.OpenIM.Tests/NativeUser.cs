using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// A native Parley.Sdk user next to OpenIM SDK clients: a client connected with the user's Android (OpenIM platform 2)
/// token, and what it raised. Disposing it disconnects the client.
/// </summary>
internal sealed class NativeUser(Recorder recorder) : IAsyncDisposable
{
    public ParleyClient Client => recorder.Client;

    public Recorder Recorder => recorder;

    public IReadOnlyList<ReceiptEvent> Receipts => recorder.Receipts;

    public IReadOnlyList<MessageRevokedEventArgs> Revokes => recorder.Revokes;

    public IReadOnlyList<Message> MessagesIn(string conversationId) => recorder.MessagesIn(conversationId);

    public ValueTask DisposeAsync() => recorder.Client.DisposeAsync();

    public static async Task<NativeUser> ConnectAsync(OpenImTestServer server, string userId)
    {
        var client = new ParleyClient(new ParleyClientOptions
        {
            ServerUri = server.WebSocketUri,
            Token = await OpenImUsers.TokenAsync(server, userId, 2),
            DeviceId = OpenImPlatforms.DeviceId(2),
            Platform = Platform.Android,
            LocalState = new InMemoryParleyClientState(),
        });
        var recorder = new Recorder(client);
        await client.ConnectAsync();
        return new NativeUser(recorder);
    }
}
