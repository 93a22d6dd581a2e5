using System.Text.Json;
using Xunit.Abstractions;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>
/// The OpenIM edge's notices that its REST API raises with no stored message (a join request to the group's owner and
/// admins, 1503; the answer to the applicant, 1505/1506) reach the user's OpenIM sessions on every node of a cluster
/// (issue 11), exactly once each: two real server processes (<see cref="ClusterHarness"/>) with the OpenIM edge on, the
/// REST calls made on one node, the sessions on both.
/// </summary>
public sealed class OpenImClusterNoticeTests(ITestOutputHelper output) : ClusterTest("oicn", output)
{
    // The owner has a web session on node 1 and an iOS session on node 0. Ann asks to join through node 0's REST API, Ben
    // through node 1's: each of the owner's sessions gets both 1503s, once. The owner accepts Ann through node 1 (Ann's
    // session is on node 0) and refuses Ben through node 0 (Ben's is on node 1): each applicant gets its answer, once.
    [ClusterFact]
    public async Task JoinRequestsAndTheirAnswers_MadeOnOneNode_ReachTheSessionsOnBothNodes_OnceEach()
    {
        await Cluster.StartAsync(2, (_, node) => Cluster.EnableOpenIm(node));
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (owner, ann, ben) = ("no" + tag, "na" + tag, "nb" + tag);
        foreach (var user in new[] { owner, ann, ben })
        {
            await Cluster.CreateUserAsync(user);
        }

        var ownerToken = await OpenImSocket.UserTokenAsync(Cluster[0], Cluster.OpenImSecret, owner);
        var created = await OpenImSocket.PostAsync(Cluster[0], "/group/create_group", new
        {
            ownerUserID = owner,
            memberUserIDs = Array.Empty<string>(),
            adminUserIDs = Array.Empty<string>(),
            groupInfo = new { groupName = "Strict", groupType = 2, needVerification = 1 },
        }, ownerToken);
        var groupId = created.GetProperty("groupInfo").GetProperty("groupID").GetString()!;

        var ownerWeb = await LoginAsync(owner, 1, platform: 5);
        var ownerPhone = await LoginAsync(owner, 0, platform: 1);
        var annWeb = await LoginAsync(ann, 0, platform: 5);
        var benWeb = await LoginAsync(ben, 1, platform: 5);

        // Live frames cross only between nodes that found each other (right after start): wait until each node's answer to
        // the app server's presence query lists the sessions on the other node (its reports reached this node).
        var admin = await OpenImSocket.AdminTokenAsync(Cluster[0], Cluster.OpenImSecret);
        foreach (var node in new[] { 0, 1 })
        {
            await Wait.UntilAsync(
                () => Platforms(OpenImSocket.PostAsync(Cluster[node], "/user/get_users_online_status", new { userIDs = new[] { owner, ann, ben } }, admin).GetAwaiter().GetResult()) == $"{ann}:5 {ben}:5 {owner}:1,5",
                $"node {node} to list every session on both nodes",
                TimeSpan.FromSeconds(60));
        }

        await OkAsync(Cluster[0], "/group/join_group", new { groupID = groupId, reqMessage = "ann here", joinSource = 3 }, await OpenImSocket.UserTokenAsync(Cluster[0], Cluster.OpenImSecret, ann));
        await OkAsync(Cluster[1], "/group/join_group", new { groupID = groupId, reqMessage = "ben here", joinSource = 3 }, await OpenImSocket.UserTokenAsync(Cluster[1], Cluster.OpenImSecret, ben));
        foreach (var (session, where) in new[] { (ownerWeb, "the owner's web session on node 1"), (ownerPhone, "the owner's phone session on node 0") })
        {
            await Wait.UntilAsync(() => Notices(session, owner, groupId, OpenImNotifications.JoinGroupApplication).Count >= 2, $"{where} to get both join requests", TimeSpan.FromSeconds(30));
        }

        await OkAsync(Cluster[1], "/group/group_application_response", new { groupID = groupId, fromUserID = ann, handledMsg = "welcome", handleResult = 1 }, await OpenImSocket.UserTokenAsync(Cluster[1], Cluster.OpenImSecret, owner));
        await OkAsync(Cluster[0], "/group/group_application_response", new { groupID = groupId, fromUserID = ben, handledMsg = "no", handleResult = -1 }, ownerToken);
        await Wait.UntilAsync(() => Notices(annWeb, ann, groupId, OpenImNotifications.GroupApplicationAccepted).Count >= 1, "ann's session on node 0 to be told she was accepted through node 1", TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(() => Notices(benWeb, ben, groupId, OpenImNotifications.GroupApplicationRejected).Count >= 1, "ben's session on node 1 to be told he was refused through node 0", TimeSpan.FromSeconds(30));

        // Once each (a later duplicate would be on the sockets by now: each node forwards in order, and the answers above
        // travelled after the requests on the same streams), addressed to its recipient, naming the group and who.
        foreach (var session in new[] { ownerWeb, ownerPhone })
        {
            var requests = Notices(session, owner, groupId, OpenImNotifications.JoinGroupApplication);
            Assert.Equal(new[] { ann, ben }, requests.Select(d => d.GetProperty("applicant").GetProperty("userID").GetString()).Order());
            Assert.Equal(new[] { "ann here", "ben here" }, requests.Select(d => d.GetProperty("reqMsg").GetString()).Order());
            Assert.Empty(Notices(session, owner, groupId, OpenImNotifications.GroupApplicationAccepted));
        }

        Assert.Single(Notices(annWeb, ann, groupId, OpenImNotifications.GroupApplicationAccepted));
        Assert.Empty(Notices(annWeb, ann, groupId, OpenImNotifications.GroupApplicationRejected));
        Assert.Single(Notices(benWeb, ben, groupId, OpenImNotifications.GroupApplicationRejected));
        Assert.Empty(Notices(benWeb, ben, groupId, OpenImNotifications.GroupApplicationAccepted));
        Assert.Empty(Notices(annWeb, ann, groupId, OpenImNotifications.JoinGroupApplication));

        // The same notice carries one id to all of a user's sessions (as one message would), a different one per notice.
        var webIds = Ids(ownerWeb, owner, groupId);
        Assert.Equal(webIds, Ids(ownerPhone, owner, groupId));
        Assert.Equal(2, webIds.Distinct().Count());
    }

    // An OpenIM REST call that answers no data (join, answer): errCode 0 is all it says.
    private static async Task OkAsync(ServerProcess node, string path, object body, string token)
    {
        using var http = new HttpClient { BaseAddress = node.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = System.Net.Http.Json.JsonContent.Create(body) };
        request.Headers.Add("operationID", "op-" + Guid.NewGuid().ToString("N"));
        request.Headers.Add("token", token);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text);
        Assert.True(document.RootElement.GetProperty("errCode").GetInt32() == 0, $"{path} on node {node.BaseUri} answered {text}");
    }

    // "user:platforms" for every online user, sorted, e.g. "a:5 b:1,5".
    private static string Platforms(JsonElement status) =>
        string.Join(' ', status.EnumerateArray()
            .Where(e => e.GetProperty("status").GetInt32() == 1)
            .Select(e => e.GetProperty("userID").GetString() + ":" + string.Join(',', e.GetProperty("detailPlatformStatus").EnumerateArray().Select(d => d.GetProperty("platformID").GetInt32()).Order()))
            .Order(StringComparer.Ordinal));

    // The tips (detail) of every notice of this type the session was pushed in the user's notification conversation of the group.
    private static List<JsonElement> Notices(OpenImWsClient session, string userId, string groupId, int contentType) =>
        [.. session.Pushed()
            .Where(p => p.Notification && p.ConversationId == $"n_{groupId}_{userId}" && p.Msg.ContentType == contentType && p.Msg.RecvID == userId)
            .Select(p => JsonDocument.Parse(JsonDocument.Parse(p.Msg.Content.ToStringUtf8()).RootElement.GetProperty("detail").GetString()!).RootElement.Clone())];

    private static List<string> Ids(OpenImWsClient session, string userId, string groupId) =>
        [.. session.Pushed()
            .Where(p => p.Notification && p.ConversationId == $"n_{groupId}_{userId}" && p.Msg.ContentType == OpenImNotifications.JoinGroupApplication)
            .Select(p => p.Msg.ServerMsgID)
            .Order(StringComparer.Ordinal)];

    private Task<OpenImWsClient> LoginAsync(string userId, int node, int platform) => OpenImWsClient.LoginAsync(Cluster, node, userId, platform);
}
