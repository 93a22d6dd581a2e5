using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.Testing;

/// <summary>Records everything a client raises, thread-safely, for assertions.</summary>
public sealed class Recorder
{
    private readonly Lock _lock = new();
    private readonly List<Message> _messages = [];
    private readonly List<ReceiptEvent> _receipts = [];
    private readonly List<TypingEvent> _typing = [];
    private readonly List<KickedEventArgs> _kicks = [];
    private readonly List<SyncCompletedEventArgs> _syncs = [];
    private readonly List<ConnectionStateChangedEventArgs> _states = [];
    private readonly List<MessageRevokedEventArgs> _revokes = [];
    private readonly List<Conversation> _conversationUpdates = [];

    public Recorder(ParleyClient client)
    {
        Client = client;
        client.MessageReceived += (_, e) => Add(_messages, e.Message);
        client.ReceiptReceived += (_, e) => Add(_receipts, e.Receipt);
        client.TypingReceived += (_, e) => Add(_typing, e.Typing);
        client.Kicked += (_, e) => Add(_kicks, e);
        client.SyncCompleted += (_, e) => Add(_syncs, e);
        client.ConnectionStateChanged += (_, e) => Add(_states, e);
        client.MessageRevoked += (_, e) => Add(_revokes, e);
        client.ConversationUpdated += (_, e) => Add(_conversationUpdates, e.Conversation);
    }

    public ParleyClient Client { get; }

    public IReadOnlyList<Message> Messages => Copy(_messages);

    public IReadOnlyList<ReceiptEvent> Receipts => Copy(_receipts);

    public IReadOnlyList<TypingEvent> Typing => Copy(_typing);

    public IReadOnlyList<KickedEventArgs> Kicks => Copy(_kicks);

    public IReadOnlyList<SyncCompletedEventArgs> Syncs => Copy(_syncs);

    public IReadOnlyList<ConnectionStateChangedEventArgs> States => Copy(_states);

    public IReadOnlyList<MessageRevokedEventArgs> Revokes => Copy(_revokes);

    public IReadOnlyList<Conversation> ConversationUpdates => Copy(_conversationUpdates);

    public IReadOnlyList<Message> MessagesIn(string conversationId) => [.. Messages.Where(m => m.ConversationId == conversationId)];

    public Task WaitForMessagesAsync(string conversationId, int count, TimeSpan? timeout = null) =>
        Wait.UntilAsync(() => MessagesIn(conversationId).Count >= count, () => $"{count} messages arrived in {conversationId} ({Describe(conversationId)})", timeout);

    /// <summary>What arrived in a conversation (count, seqs, the connection states), for failure messages.</summary>
    public string Describe(string conversationId)
    {
        var seqs = MessagesIn(conversationId).Select(m => m.Seq).ToList();
        var runs = new List<string>();
        for (var i = 0; i < seqs.Count;)
        {
            var j = i;
            while (j + 1 < seqs.Count && seqs[j + 1] == seqs[j] + 1)
            {
                j++;
            }

            runs.Add(i == j ? $"{seqs[i]}" : $"{seqs[i]}-{seqs[j]}");
            i = j + 1;
        }

        return $"have {seqs.Count}: seqs [{string.Join(",", runs)}]; states [{string.Join(",", States.Select(s => s.CloseCode is { } code ? $"{s.State}({code})" : s.State.ToString()))}]; kicks {Kicks.Count}";
    }

    private void Add<T>(List<T> list, T item)
    {
        lock (_lock)
        {
            list.Add(item);
        }
    }

    private IReadOnlyList<T> Copy<T>(List<T> list)
    {
        lock (_lock)
        {
            return [.. list];
        }
    }
}
