namespace Parley.Protocol;

/// <summary>WebSocket close codes used by the Parley server (documented in docs/protocol.md).</summary>
public static class CloseCodes
{
    /// <summary>Standard: the server is shutting down; reconnect with backoff.</summary>
    public const int GoingAway = 1001;

    /// <summary>
    /// Standard (IANA "Service Restart"): the server is draining for a shutdown or restart. It answered every request it
    /// had read before closing; reconnect at once (a load balancer sends the new connection to another node) and resume.
    /// </summary>
    public const int ServiceRestart = 1012;

    /// <summary>Standard: a frame was larger than the negotiated maximum.</summary>
    public const int MessageTooBig = 1009;

    /// <summary>Another login displaced this one. Do not reconnect automatically.</summary>
    public const int Kicked = 4001;

    /// <summary>The token was revoked, expired or force-logged-out. Do not reconnect with the same token.</summary>
    public const int TokenInvalid = 4002;

    /// <summary>Hello was missing, malformed or its token was refused.</summary>
    public const int HandshakeFailed = 4003;

    /// <summary>No Hello arrived within the handshake timeout.</summary>
    public const int HandshakeTimeout = 4004;

    /// <summary>The connection's outbox overflowed (slow consumer); reconnect and resume from the cursor.</summary>
    public const int OutboxOverflow = 4008;

    /// <summary>Repeated malformed frames or a text frame.</summary>
    public const int ProtocolError = 4009;

    /// <summary>No frame arrived within the idle timeout.</summary>
    public const int IdleTimeout = 4010;

    /// <summary>
    /// Hello's resume cursor is ahead of the server's feed (its data was restored or replaced), after an
    /// <c>Error{CURSOR_AHEAD}</c>: drop the local sync state and reconnect at once with resume cursor 0.
    /// </summary>
    public const int CursorAhead = 4011;

    /// <summary>
    /// The server could not deliver some live events to this connection (in a cluster, a node died before forwarding
    /// them): reconnect at once and resume from the cursor; the resume contains them.
    /// </summary>
    public const int Resync = 4012;

    /// <summary>True when the close code means the client must not reconnect with the same credentials.</summary>
    public static bool IsTerminal(int code) => code is Kicked or TokenInvalid or HandshakeFailed;
}
