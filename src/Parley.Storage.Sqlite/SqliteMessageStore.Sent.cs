using System.Runtime.CompilerServices;
using Parley.Abstractions.Messaging;
using Parley.Storage.Sqlite.Internal;

namespace Parley.Storage.Sqlite;

public sealed partial class SqliteMessageStore : ISentMessageStore
{
    /// <inheritdoc />
    public async IAsyncEnumerable<StoredMessage> ReadSentMessagesAsync(string senderId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // One read transaction (one WAL snapshot) for the whole scan.
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT c.conversation_id, " + Prefixed("m", SqliteRows.MessageColumnsAfterId)
                + " FROM messages m JOIN conversations c ON c.conv_key = m.conv_key WHERE m.sender_id = $sender ORDER BY c.conversation_id, m.seq;";
            command.Parameters.AddWithValue("$sender", senderId);
            using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return SqliteRows.ReadMessage(reader);
            }
        }
    }
}
