namespace Parley.Protocol.V1;

/// <summary>The server's side of a text send read by <see cref="SendFrameReader"/> (ADR 0027).</summary>
public sealed partial class SendRequest
{
    /// <summary>
    /// Set by the server's gateway when it read this send with <see cref="SendFrameReader"/>: then <see cref="Content"/> is
    /// null and this holds the content's bytes. Not part of the message (never serialised, compared or cloned).
    /// </summary>
    internal TextContentBytes ContentBytes { get; set; }
}
