namespace Parley.Core.Social;

/// <summary>The relation between two users as 1:1 messaging needs it.</summary>
/// <param name="FirstBlocksSecond">The first user blocked the second.</param>
/// <param name="SecondBlocksFirst">The second user blocked the first.</param>
/// <param name="Friends">The users are friends (both directions).</param>
[GenerateSerializer, Immutable, Alias("parley.direct-relation")]
public sealed record DirectRelation(bool FirstBlocksSecond, bool SecondBlocksFirst, bool Friends)
{
    public static readonly DirectRelation None = new(false, false, false);

    // The eight relations there are, shared: an active 1:1 conversation grain kept one of its own (24 B, issue 17's soak).
    private static readonly DirectRelation[] Shared =
        [.. Enumerable.Range(0, 8).Select(i => i == 0 ? None : new DirectRelation((i & 1) != 0, (i & 2) != 0, (i & 4) != 0))];

    /// <summary>The shared instance of this relation.</summary>
    public static DirectRelation Of(bool firstBlocksSecond, bool secondBlocksFirst, bool friends) =>
        Shared[(firstBlocksSecond ? 1 : 0) | (secondBlocksFirst ? 2 : 0) | (friends ? 4 : 0)];

    public bool Blocked => FirstBlocksSecond || SecondBlocksFirst;
}

/// <summary>Reads relations for the messaging path (implemented by the social module).</summary>
public interface IRelationReader
{
    /// <summary>The relation of <paramref name="first"/> and <paramref name="second"/>, in that order.</summary>
    Task<DirectRelation> GetDirectRelationAsync(string first, string second, CancellationToken cancellationToken = default);

    /// <summary>
    /// What the first message of a new 1:1 conversation checks: the relation of <paramref name="first"/> and
    /// <paramref name="second"/> (in that order), and whether <paramref name="peer"/> has an account; one read where the store
    /// answers both (issue 17, stop 45). The relation is <see cref="DirectRelation.None"/> when the peer has no account.
    /// </summary>
    ValueTask<(DirectRelation Relation, bool PeerExists)> GetDirectOpeningAsync(string first, string second, string peer, CancellationToken cancellationToken = default);
}

/// <summary>Server-wide social policy, bound to <c>Parley:Social</c>.</summary>
public sealed class SocialOptions
{
    public const string Section = "Parley:Social";

    /// <summary>When true only friends may exchange 1:1 messages (off by default).</summary>
    public bool FriendsOnlyDirectMessages { get; set; }
}
