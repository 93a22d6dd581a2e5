using Microsoft.Extensions.Options;
using Parley.Abstractions.Messaging;
using Parley.Protocol.V1;

namespace Parley.Core.Messaging;

/// <summary>
/// <see cref="ISearchTextExtractor"/> by the send path's own rule (<see cref="MessageChanges.SearchText"/> of the stored
/// <see cref="Content"/>), null while <see cref="MessagingOptions.FullTextSearch"/> is off (nothing is indexed then) or
/// for a content that does not parse (never stored by the server; no text rather than a failed recovery).
/// </summary>
public sealed class ContentSearchText(IOptions<MessagingOptions> options) : ISearchTextExtractor
{
    /// <inheritdoc />
    public string? SearchText(int contentKind, byte[] content)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (!options.Value.FullTextSearch || content.Length == 0)
        {
            return null;
        }

        Content parsed;
        try
        {
            parsed = Content.Parser.ParseFrom(content);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return null;
        }

        return MessageChanges.SearchText(parsed) is { Length: > 0 } text ? text : null;
    }
}
