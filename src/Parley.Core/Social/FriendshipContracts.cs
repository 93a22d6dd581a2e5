namespace Parley.Core.Social;

/// <summary>
/// The single writer of everything between two users (key: <see cref="FriendshipKey.For"/>, the sorted pair
/// "first|second"). Serialising per pair makes crossing requests and accept-versus-delete races simple, and lets the
/// grain update the pair's direct conversation before it answers, so sends allocated afterwards obey the change.
/// </summary>
[Alias("parley.friendship")]
public interface IFriendshipGrain : IGrainWithStringKey
{
    /// <summary><paramref name="fromUserId"/> asks the other user of the pair to be friends.</summary>
    [Alias("send-request")]
    Task<CoreResult<FriendshipChange>> SendRequestAsync(string fromUserId, string message);

    /// <summary><paramref name="responderId"/> accepts or refuses the other user's pending request.</summary>
    [Alias("respond")]
    Task<CoreResult<FriendshipChange>> RespondAsync(string responderId, bool accept, string message);

    /// <summary><paramref name="userId"/> ends the friendship (both sides).</summary>
    [Alias("delete")]
    Task<CoreResult<FriendshipChange>> DeleteAsync(string userId);

    /// <summary><paramref name="userId"/> sets their own remark for the other user.</summary>
    [Alias("remark")]
    Task<CoreResult<FriendshipChange>> SetRemarkAsync(string userId, string remark);

    /// <summary><paramref name="userId"/> blocks or unblocks the other user.</summary>
    [Alias("block")]
    Task<CoreResult<FriendshipChange>> SetBlockedAsync(string userId, bool blocked);
}

public static class FriendshipKey
{
    /// <summary>The grain key of a pair: the ordinally smaller id, '|', the other ('|' is not an id character).</summary>
    public static string For(string a, string b) => string.CompareOrdinal(a, b) <= 0 ? $"{a}|{b}" : $"{b}|{a}";
}

/// <param name="Request">The request written by a send or respond.</param>
/// <param name="Version">The relation version of the change (the current one when nothing changed).</param>
[GenerateSerializer, Immutable, Alias("parley.friendship-change")]
public sealed record FriendshipChange(FriendRequestData? Request, long Version);

/// <summary>A friend request crossing a grain boundary (mirror of <see cref="Abstractions.Social.FriendRequestRecord"/>).</summary>
[GenerateSerializer, Immutable, Alias("parley.friend-request-data")]
public sealed record FriendRequestData(
    string FromUserId,
    string ToUserId,
    string Message,
    int State,
    long CreatedAt,
    long HandledAt,
    string HandleMessage);
