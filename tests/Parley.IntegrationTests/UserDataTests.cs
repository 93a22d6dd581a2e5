using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>
/// Per-user data export and erasure through the admin API with an operator token of scope <c>data</c>: the export
/// holds the profile, tokens, devices, relations, conversations, every message the user sent and the media they uploaded;
/// the erasure turns their messages into tombstones for the other members, removes devices, tokens, relations and
/// media, anonymises the profile, and both are in the audit log.
/// </summary>
public sealed class UserDataTests : IAsyncLifetime
{
    private readonly string _schema = "it_ud_" + Guid.NewGuid().ToString("N");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await PostgresFactAttribute.DropSchemaAsync(_schema);
    }

    [Fact]
    public Task Export_ThenErase_ByDataOperator_ExportsEverything_ErasesForOtherMembers_AndIsAudited() => RunAsync(null);

    [PostgresFact]
    public Task Export_ThenErase_OnPostgres_ExportsEverything_ErasesForOtherMembers_AndIsAudited() => RunAsync(PostgresFactAttribute.ServerSettings(_schema));

    private static async Task RunAsync(IDictionary<string, string?>? settings)
    {
        await using var server = await TestServer.StartAsync(settings);
        var alice = await server.CreateUserAsync("gdpr-a");
        var bob = await server.CreateUserAsync("gdpr-b");
        var carol = await server.CreateUserAsync("gdpr-c");
        var aliceToken = await server.IssueTokenAsync(alice, "phone");
        var aliceClient = await server.CreateClientAsync(alice, "phone", token: aliceToken);
        await aliceClient.ConnectAsync();
        var bobClient = await server.ConnectAsync(bob);
        await server.ConnectAsync(carol);

        await aliceClient.SendFriendRequestAsync(bob, "hi, it's alice");
        await bobClient.RespondFriendRequestAsync(alice, accept: true);
        await aliceClient.SetBlockedAsync(carol, true);
        await aliceClient.RegisterDeviceAsync(new RegisterDeviceRequest { Vendor = PushVendor.Fcm, Token = "fcm-secret-token-of-alice" });
        var group = await aliceClient.CreateGroupAsync("privacy", [bob, carol]);
        var sentByAlice = new List<SendReceipt>();
        for (var i = 0; i < 5; i++)
        {
            sentByAlice.Add(await aliceClient.SendTextAsync(bob, $"direct secret {i}", $"a-direct-{i}"));
            sentByAlice.Add(await aliceClient.SendTextToConversationAsync(group.ConversationId, $"group secret {i}", $"a-group-{i}"));
        }

        var fileBytes = RandomNumberGenerator.GetBytes(20_000);
        var file = await aliceClient.SendFileAsync(new Target { UserId = bob }, new MemoryStream(fileBytes), "alice-cv.pdf", clientMsgId: "a-file");
        sentByAlice.Add(file);
        var fromBob = await bobClient.SendTextAsync(alice, "bob's own words", "b-direct");
        var fileMessage = (await SendBurst.ReadAllAsync(bobClient, file.ConversationId)).Single(m => m.ClientMsgId == "a-file");
        var objectId = fileMessage.Content.File.ObjectId;

        using var users = await OperatorAsync(server, "users");
        using var data = await OperatorAsync(server, "data");

        // The users scope (and read) do not reach the data of a user.
        Assert.Equal(HttpStatusCode.Forbidden, (await users.PostAsync($"/admin/v1/users/{alice}/export", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await users.PostAsJsonAsync($"/admin/v1/users/{alice}/erase", new { confirm = alice })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await data.PostAsync("/admin/v1/users/nobody-here/export", null)).StatusCode);

        // Export.
        var export = await data.PostAsync($"/admin/v1/users/{alice}/export", null);
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        Assert.Equal("application/zip", export.Content.Headers.ContentType?.MediaType);
        var zip = new ZipArchive(new MemoryStream(await export.Content.ReadAsByteArrayAsync()), ZipArchiveMode.Read);
        var profile = Json(zip, "profile.json");
        Assert.Equal(alice, profile.GetProperty("userId").GetString());
        Assert.Equal("gdpr-a", profile.GetProperty("nickname").GetString());
        Assert.Contains(Json(zip, "tokens.json").EnumerateArray(), t => t.GetProperty("deviceId").GetString() == "phone");
        var devicesText = Text(zip, "devices.json");
        Assert.Contains("\"Fcm\"", devicesText, StringComparison.Ordinal);
        Assert.DoesNotContain("fcm-secret-token-of-alice", devicesText, StringComparison.Ordinal);
        var relations = Json(zip, "relations.json");
        Assert.Contains(relations.GetProperty("friends").EnumerateArray(), f => f.GetProperty("friendId").GetString() == bob);
        Assert.Contains(relations.GetProperty("requestsSent").EnumerateArray(), r => r.GetProperty("message").GetString() == "hi, it's alice");
        Assert.Contains(carol, relations.GetProperty("blocked").EnumerateArray().Select(b => b.GetString()));
        var conversations = Json(zip, "conversations.json").EnumerateArray().Select(c => c.GetProperty("conversationId").GetString()).ToList();
        Assert.Contains(group.ConversationId, conversations);
        Assert.Contains(file.ConversationId, conversations);
        var lines = Text(zip, "messages.jsonl").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        foreach (var receipt in sentByAlice)
        {
            var line = Assert.Single(lines, l => l.GetProperty("clientMsgId").GetString() == receipt.ClientMsgId);
            Assert.Equal((long)receipt.Seq, line.GetProperty("seq").GetInt64());
        }

        Assert.Contains(lines, l => l.GetProperty("clientMsgId").GetString() == "a-group-3" && l.GetProperty("content").GetRawText().Contains("\"group secret 3\"", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.GetProperty("clientMsgId").GetString() == "b-direct");
        var mediaList = Json(zip, "media.json");
        var media = Assert.Single(mediaList.EnumerateArray());
        Assert.Equal(objectId, media.GetProperty("objectId").GetString());
        using (var bytes = new MemoryStream())
        {
            await using (var entry = zip.GetEntry(media.GetProperty("file").GetString()!)!.Open())
            {
                await entry.CopyToAsync(bytes);
            }

            Assert.Equal(fileBytes, bytes.ToArray());
        }

        // Erasure needs the user id again.
        var unconfirmed = await data.PostAsJsonAsync($"/admin/v1/users/{alice}/erase", new { confirm = "someone-else" });
        Assert.Equal(HttpStatusCode.BadRequest, unconfirmed.StatusCode);
        Assert.Equal("gdpr-a", (await server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/users/{alice}")).GetProperty("nickname").GetString());

        var revokedSeen = new System.Collections.Concurrent.ConcurrentBag<ulong>();
        bobClient.MessageRevoked += (_, e) => revokedSeen.Add(e.Seq);
        var erase = await data.PostAsJsonAsync($"/admin/v1/users/{alice}/erase", new { confirm = alice });
        Assert.Equal(HttpStatusCode.OK, erase.StatusCode);
        var summary = await erase.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(sentByAlice.Count, summary.GetProperty("messagesTombstoned").GetInt32());
        Assert.Equal(1, summary.GetProperty("devicesRemoved").GetInt32());
        Assert.Equal(1, summary.GetProperty("mediaDeleted").GetInt32());
        Assert.Equal(1, summary.GetProperty("friendsRemoved").GetInt32());
        Assert.Equal(1, summary.GetProperty("blocksLifted").GetInt32());
        Assert.True(summary.GetProperty("tokensRevoked").GetInt32() >= 1);

        // Bob is told live (a revoke per message) and his history holds tombstones where alice's words were; his own stay.
        await Wait.UntilAsync(() => revokedSeen.Count >= sentByAlice.Count, "bob to see every erased message revoked", TimeSpan.FromSeconds(15));
        foreach (var conversation in new[] { group.ConversationId, file.ConversationId })
        {
            var history = await SendBurst.ReadAllAsync(bobClient, conversation);
            foreach (var m in history.Where(m => sentByAlice.Any(r => r.ConversationId == conversation && r.Seq == m.Seq)))
            {
                Assert.True(m.Revoked, $"{m.ClientMsgId} must be a tombstone");
                Assert.Null(m.Content);
            }

            Assert.DoesNotContain(history, m => m.Content?.Text?.Text?.Contains("secret", StringComparison.Ordinal) == true);
        }

        Assert.Contains((await SendBurst.ReadAllAsync(bobClient, fromBob.ConversationId)), m => m.ClientMsgId == "b-direct" && m.Content.Text.Text == "bob's own words");

        // The media object is gone for everyone.
        await Assert.ThrowsAnyAsync<ParleyException>(() => bobClient.GetObjectAsync(objectId));

        // The account: anonymised, disabled, its old token refused.
        var after = await server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/users/{alice}");
        Assert.Equal("Deleted user", after.GetProperty("nickname").GetString());
        Assert.NotEqual(JsonValueKind.Null, after.GetProperty("disabledAt").ValueKind);
        await Wait.UntilAsync(() => aliceClient.State == ConnectionState.Disconnected, "alice's live connection to be closed", TimeSpan.FromSeconds(5));
        var stale = await Assert.ThrowsAsync<ParleyException>(async () =>
        {
            var c = await server.CreateClientAsync(alice, "phone", token: aliceToken);
            await c.ConnectAsync();
        });
        Assert.Equal(ErrorCode.TokenRevoked, stale.Code);
        var reissue = await server.Admin.PostAsJsonAsync($"/admin/v1/users/{alice}/tokens", new { deviceId = "phone2", platform = "linux" });
        Assert.Equal(HttpStatusCode.Conflict, reissue.StatusCode);

        // Bob's own export no longer lists alice as a friend; alice's shows nothing left.
        var bobExport = new ZipArchive(new MemoryStream(await (await data.PostAsync($"/admin/v1/users/{bob}/export", null)).Content.ReadAsByteArrayAsync()));
        Assert.DoesNotContain(Json(bobExport, "relations.json").GetProperty("friends").EnumerateArray(), f => f.GetProperty("friendId").GetString() == alice);
        var aliceAfter = new ZipArchive(new MemoryStream(await (await data.PostAsync($"/admin/v1/users/{alice}/export", null)).Content.ReadAsByteArrayAsync()));
        Assert.Empty(Json(aliceAfter, "devices.json").EnumerateArray());
        Assert.Empty(Json(aliceAfter, "media.json").EnumerateArray());
        Assert.All(Text(aliceAfter, "messages.jsonl").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.GetProperty("kind").GetString() != "Revoke" && l.GetProperty("kind").GetString() != "GroupCreated"),
            l => Assert.True(l.GetProperty("revoked").GetBoolean(), l.ToString()));

        // Idempotent.
        var again = await (await data.PostAsJsonAsync($"/admin/v1/users/{alice}/erase", new { confirm = alice })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(0, again.GetProperty("messagesTombstoned").GetInt32());

        // Both are in the audit log, with the operator as actor.
        var audit = await server.Admin.GetFromJsonAsync<JsonElement>($"/admin/v1/audit?target={alice}");
        var actions = audit.GetProperty("items").EnumerateArray().Select(e => (Action: e.GetProperty("action").GetString(), Status: e.GetProperty("status").GetInt32(), Actor: e.GetProperty("actorName").GetString())).ToList();
        Assert.Contains(("users.export", 200, "gdpr-data"), actions);
        Assert.Contains(("users.erase", 200, "gdpr-data"), actions);
        Assert.Contains(("users.erase", 400, "gdpr-data"), actions);
        Assert.Contains(("users.export", 403, "gdpr-users"), actions);
    }

    private static async Task<HttpClient> OperatorAsync(TestServer server, string scope)
    {
        var response = await server.Admin.PostAsJsonAsync("/admin/v1/operators", new { name = "gdpr-" + scope, scopes = new[] { scope }, ttlSeconds = 3600 });
        response.EnsureSuccessStatusCode();
        var token = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString();
        var client = new HttpClient { BaseAddress = server.BaseUri };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static string Text(ZipArchive zip, string name)
    {
        using var reader = new StreamReader(zip.GetEntry(name)?.Open() ?? throw new InvalidOperationException($"{name} is missing from the export"));
        return reader.ReadToEnd();
    }

    private static JsonElement Json(ZipArchive zip, string name) => JsonDocument.Parse(Text(zip, name)).RootElement;
}
