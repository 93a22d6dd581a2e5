using Parley.Protocol.V1;
using Parley.Sdk;

// A console chat over Parley.Sdk. See README.md for getting a token.
string? server = null, token = null, device = null, to = null, conversation = null;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--server": server = args[i + 1]; break;
        case "--token": token = args[i + 1]; break;
        case "--device": device = args[i + 1]; break;
        case "--to": to = args[i + 1]; break;
        case "--conversation": conversation = args[i + 1]; break;
        default: break;
    }
}

if (server is null || token is null || device is null || (to is null && conversation is null))
{
    Console.Error.WriteLine("usage: --server ws://127.0.0.1:5080/ws --token <token> --device <id> (--to <userId> | --conversation <id>)");
    return 2;
}

await using var client = new ParleyClient(new ParleyClientOptions
{
    ServerUri = new Uri(server),
    Token = token,
    DeviceId = device,
    Platform = Platform.Linux,
});

ulong lastSeq = 0;
client.ConnectionStateChanged += (_, e) => Console.WriteLine($"* {e.State}{(e.CloseCode is { } c ? $" (close {c})" : "")}{(e.Reason is { } r ? $": {r}" : "")}");
client.SyncCompleted += (_, e) => Console.WriteLine($"* synced {e.ConversationCount} conversation(s), {e.MessageCount} message(s), cursor {e.Cursor}");
client.MessageReceived += (_, e) =>
{
    var m = e.Message;
    if (conversation is not null && m.ConversationId == conversation)
    {
        lastSeq = Math.Max(lastSeq, m.Seq);
    }

    Console.WriteLine($"[{m.ConversationId} #{m.Seq}] {m.SenderId}: {Describe(m.Content)}");
};
client.MessageRevoked += (_, e) => Console.WriteLine($"* {e.RevokedBy} revoked #{e.Seq} in {e.ConversationId}");
client.ReceiptReceived += (_, e) => Console.WriteLine($"* {e.Receipt.UserId} read {e.Receipt.ConversationId} up to #{e.Receipt.ReadSeq}");
client.TypingReceived += (_, e) => Console.WriteLine($"* {e.Typing.UserId} {(e.Typing.Typing ? "is typing..." : "stopped typing")}");
client.Kicked += (_, e) => Console.WriteLine($"* kicked: {e.Reason} {e.Detail}");

try
{
    await client.ConnectAsync();
}
catch (ParleyException ex)
{
    Console.Error.WriteLine($"connect refused: {ex.Code} {ex.Message}");
    return 1;
}

Console.WriteLine($"Connected as {client.UserId}. Type a line to send; /history, /read, /quit.");
while (Console.ReadLine() is { } line)
{
    try
    {
        switch (line.Trim())
        {
            case "/quit":
                return 0;
            case "/history":
                if (conversation is null)
                {
                    Console.WriteLine("* send a message first: the 1:1 conversation id comes from its ack");
                    break;
                }

                var page = await client.GetHistoryAsync(conversation, 0, Direction.Backward, 20);
                foreach (var m in page.Messages)
                {
                    Console.WriteLine($"  #{m.Seq} {m.SenderId}: {Describe(m.Content)}");
                }

                break;
            case "/read":
                if (conversation is not null)
                {
                    var read = await client.MarkReadAsync(conversation, lastSeq == 0 ? ulong.MaxValue >> 1 : lastSeq);
                    Console.WriteLine($"* read up to #{read.ReadSeq}, {read.Unread} unread");
                }

                break;
            case "":
                break;
            default:
                var receipt = to is not null
                    ? await client.SendTextAsync(to, line)
                    : await client.SendTextToConversationAsync(conversation!, line);
                conversation ??= receipt.ConversationId;
                lastSeq = Math.Max(lastSeq, receipt.Seq);
                Console.WriteLine($"  (sent #{receipt.Seq}{(receipt.Duplicate ? ", duplicate" : "")})");
                break;
        }
    }
    catch (Exception ex) when (ex is ParleyException or TimeoutException)
    {
        Console.WriteLine($"! {ex.Message}");
    }
}

return 0;

static string Describe(Content? content) => content?.BodyCase switch
{
    Content.BodyOneofCase.Text => content.Text.Text,
    Content.BodyOneofCase.Custom => $"<{content.Custom.Type}> {content.Custom.Json}",
    Content.BodyOneofCase.Revoke => $"(revoked #{content.Revoke.Seq})",
    Content.BodyOneofCase.GroupCreated => $"(group \"{content.GroupCreated.Name}\" created)",
    _ => "(revoked)",
};
