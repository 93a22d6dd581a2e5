using Npgsql;
using Parley.Protocol.V1;
using Parley.Push.Tests.Simulators;
using Parley.Sdk;

namespace Parley.Push.Tests;

/// <summary>
/// What the push tests that run real server processes and kill them share (<see cref="SuperGroupPushCrashTests"/>,
/// <see cref="PushClusterFailoverTests"/>): the FCM simulator on loopback on the real clock, each process pointed at it,
/// offline phones registered for FCM, and the journal rows read straight from PostgreSQL.
/// </summary>
internal static class PushServerProcesses
{
    /// <summary>An FCM simulator on loopback with the real clock (server processes keep their own time).</summary>
    public static async Task<FcmSimulator> StartFcmAsync()
    {
        var fcm = new FcmSimulator(TimeProvider.System);
        await fcm.StartAsync();
        return fcm;
    }

    /// <summary>The process pushes through <paramref name="fcm"/> (FCM on, its credentials), every message at once (no coalescing window).</summary>
    public static void UseFcm(ServerProcess node, FcmSimulator fcm) => node.Configure(fcm.ServerSettings());

    /// <summary>Registers an Android phone ("phone", FCM token <c>fcm-token-{user}</c>) of the user through the process, then takes it offline.</summary>
    public static async Task RegisterOfflinePhoneAsync(ServerProcess node, string userId, ICollection<ParleyClient> clients)
    {
        var phone = await node.ConnectAsync(userId, clients, "phone", Platform.Android, TimeSpan.FromSeconds(60));
        await phone.RegisterDeviceAsync(new RegisterDeviceRequest { Vendor = PushVendor.Fcm, Token = "fcm-token-" + userId, AppId = "com.example.chat", NotificationsEnabled = true });
        await phone.DisposeAsync();
        clients.Remove(phone);
    }

    /// <summary>The push journal in a PostgreSQL schema (of one message, or all), ordered by user.</summary>
    public static List<JournalRow> PostgresJournal(string schema, string? messageId = null)
    {
        using var connection = ServerData.OpenPostgres();
        var where = messageId is null ? "" : "WHERE message_id = @m";
        using var command = new NpgsqlCommand($"SELECT push_id, user_id, state, reason, owner FROM \"{schema}\".push_journal {where} ORDER BY user_id", connection);
        if (messageId is not null)
        {
            command.Parameters.AddWithValue("m", messageId);
        }

        using var reader = command.ExecuteReader();
        var rows = new List<JournalRow>();
        while (reader.Read())
        {
            rows.Add(new JournalRow(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4)));
        }

        return rows;
    }

    /// <summary>One push_journal row: state 0 pending, 1 sending, 2 accepted, 5 dead-lettered (PushState).</summary>
    public sealed record JournalRow(string PushId, string UserId, int State, string? Reason, string Owner);
}
