namespace Parley.Sdk;

/// <summary>
/// The client's local sync state: the resume cursor and the highest seq raised per conversation. Implement it over a
/// database to resume across application restarts. The client calls it from its single dispatch loop (and reads
/// <see cref="Cursor"/> when opening a session), so implementations need no locking of their own beyond that.
/// </summary>
public interface IParleyClientState
{
    /// <summary>The feed version the application has fully processed; sent as <c>Hello.resume_cursor</c>. 0 = no local state.</summary>
    ulong Cursor { get; set; }

    /// <summary>The highest seq raised for a conversation, or 0 when the conversation is unknown.</summary>
    ulong GetMaxSeq(string conversationId);

    /// <summary>Records the highest seq raised for a conversation.</summary>
    void SetMaxSeq(string conversationId, ulong seq);

    /// <summary>
    /// Forgets everything: the cursor becomes 0 and every conversation unknown. The client calls it when the server
    /// answers Hello with <c>CURSOR_AHEAD</c> (the server's data was restored or replaced), then resyncs from 0.
    /// </summary>
    void Reset();
}

/// <summary>The default, process-lifetime <see cref="IParleyClientState"/>. Thread-safe.</summary>
public sealed class InMemoryParleyClientState : IParleyClientState
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ulong> _maxSeq = new(StringComparer.Ordinal);
    private ulong _cursor;

    /// <inheritdoc />
    public ulong Cursor
    {
        get
        {
            lock (_lock)
            {
                return _cursor;
            }
        }
        set
        {
            lock (_lock)
            {
                _cursor = value;
            }
        }
    }

    /// <inheritdoc />
    public ulong GetMaxSeq(string conversationId)
    {
        lock (_lock)
        {
            return _maxSeq.GetValueOrDefault(conversationId);
        }
    }

    /// <inheritdoc />
    public void SetMaxSeq(string conversationId, ulong seq)
    {
        lock (_lock)
        {
            _maxSeq[conversationId] = seq;
        }
    }

    /// <inheritdoc />
    public void Reset()
    {
        lock (_lock)
        {
            _cursor = 0;
            _maxSeq.Clear();
        }
    }
}
