using Parley.Protocol;
using Parley.Protocol.V1;

namespace Parley.Core.Messaging;

/// <summary>
/// A send's content as the edge has it: the parsed <see cref="Content"/>, or a text send's bytes read straight from its
/// frame (<see cref="SendFrameReader"/>, ADR 0027: no objects of the content, no string of its text). A
/// <see cref="Content"/> converts to it, so the edges that parse (OpenIM, REST, the native protobuf path) pass theirs as before.
/// </summary>
public readonly struct ClientContent
{
    public ClientContent(Content? parsed) => Parsed = parsed;

    public ClientContent(TextContentBytes bytes) => Bytes = bytes;

    /// <summary>The parsed content, or null (then <see cref="Bytes"/> holds it, or there is none).</summary>
    public Content? Parsed { get; }

    /// <summary>A text send's bytes (<see cref="TextContentBytes.HasContent"/>), or none.</summary>
    public TextContentBytes Bytes { get; }

    public static implicit operator ClientContent(Content? parsed) => new(parsed);

    /// <summary>The content as objects: the parsed one, or the bytes parsed now (for a before-send hook).</summary>
    public Content? ToContent() => Bytes.HasContent ? Bytes.Parse() : Parsed;
}
