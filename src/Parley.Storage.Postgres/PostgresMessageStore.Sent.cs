using System.Runtime.CompilerServices;
using Parley.Abstractions.Messaging;
using Parley.Storage.Postgres.Internal;

namespace Parley.Storage.Postgres;

public sealed partial class PostgresMessageStore : ISentMessageStore
{
    /// <inheritdoc />
    public async IAsyncEnumerable<StoredMessage> ReadSentMessagesAsync(string senderId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var connection = await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var command = connection.CreateCommand();
            await using (command.ConfigureAwait(false))
            {
                command.CommandText = "SELECT " + PostgresRows.MessageColumns + " FROM messages WHERE sender_id = $1 ORDER BY conversation_id, seq;";
                command.Parameters.Add(PostgresRows.P(senderId));
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        yield return PostgresRows.ReadMessage(reader);
                    }
                }
            }
        }
    }
}
