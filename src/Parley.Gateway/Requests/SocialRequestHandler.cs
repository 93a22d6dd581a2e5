using Google.Protobuf;
using Parley.Gateway.Connections;
using Parley.Core;
using Parley.Core.Social;
using Parley.Protocol.V1;
using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Gateway.Requests;

/// <summary>
/// Users, friends and blocks (ClientFrame cases 40–49). Identity always comes from the connection, never from the
/// request.
/// </summary>
internal sealed class SocialRequestHandler(SocialService social)
{
    internal static bool CanHandle(ClientFrame.BodyOneofCase body) => body is
        ClientFrame.BodyOneofCase.SearchUsers or
        ClientFrame.BodyOneofCase.GetUsers or
        ClientFrame.BodyOneofCase.UpdateMySettings or
        ClientFrame.BodyOneofCase.SendFriendRequest or
        ClientFrame.BodyOneofCase.RespondFriendRequest or
        ClientFrame.BodyOneofCase.ListFriendRequests or
        ClientFrame.BodyOneofCase.DeleteFriend or
        ClientFrame.BodyOneofCase.SetFriendRemark or
        ClientFrame.BodyOneofCase.SetBlocked or
        ClientFrame.BodyOneofCase.SyncRelations;

    internal async Task<ServerFrame> HandleAsync(ClientConnection connection, ClientFrame request)
    {
        var user = connection.UserId;
        var result = request.BodyCase switch
        {
            ClientFrame.BodyOneofCase.SearchUsers => Frame(
                await social.SearchUsersAsync(request.SearchUsers.Query, request.SearchUsers.Limit).ConfigureAwait(false), (f, v) => f.Users = v),
            ClientFrame.BodyOneofCase.GetUsers => Frame(
                await social.GetUsersAsync(request.GetUsers.UserIds).ConfigureAwait(false), (f, v) => f.Users = v),
            ClientFrame.BodyOneofCase.UpdateMySettings => Frame(
                await social.UpdateSettingsAsync(user, request.UpdateMySettings.HasSearchable ? request.UpdateMySettings.Searchable : null).ConfigureAwait(false),
                (f, v) => f.Ok = v),
            ClientFrame.BodyOneofCase.SendFriendRequest => Frame(
                await social.SendFriendRequestAsync(user, request.SendFriendRequest.ToUserId, request.SendFriendRequest.Message).ConfigureAwait(false),
                (f, v) => f.FriendRequest = v),
            ClientFrame.BodyOneofCase.RespondFriendRequest => Frame(
                await social.RespondFriendRequestAsync(user, request.RespondFriendRequest.FromUserId, request.RespondFriendRequest.Accept, request.RespondFriendRequest.Message).ConfigureAwait(false),
                (f, v) => f.FriendRequest = v),
            ClientFrame.BodyOneofCase.ListFriendRequests => Frame(
                await social.ListFriendRequestsAsync(user, request.ListFriendRequests.Direction).ConfigureAwait(false), (f, v) => f.FriendRequests = v),
            ClientFrame.BodyOneofCase.DeleteFriend => Frame(
                await social.DeleteFriendAsync(user, request.DeleteFriend.UserId).ConfigureAwait(false), (f, v) => f.Ok = v),
            ClientFrame.BodyOneofCase.SetFriendRemark => Frame(
                await social.SetRemarkAsync(user, request.SetFriendRemark.UserId, request.SetFriendRemark.Remark).ConfigureAwait(false), (f, v) => f.Ok = v),
            ClientFrame.BodyOneofCase.SetBlocked => Frame(
                await social.SetBlockedAsync(user, request.SetBlocked.UserId, request.SetBlocked.Blocked).ConfigureAwait(false), (f, v) => f.Ok = v),
            ClientFrame.BodyOneofCase.SyncRelations => Frame(
                await social.SyncAsync(user, request.SyncRelations.Version).ConfigureAwait(false), (f, v) => f.Relations = v),
            _ => RequestHandler.Error(ErrorCode.Unsupported, "Unknown request."),
        };
        result.RequestId = request.RequestId;
        return result;
    }

    private static ServerFrame Frame<T>(CoreResult<T> result, Action<ServerFrame, T> set)
        where T : class, IMessage => RequestHandler.Reply(result, value =>
        {
            var frame = new ServerFrame();
            set(frame, value);
            return frame;
        });
}
