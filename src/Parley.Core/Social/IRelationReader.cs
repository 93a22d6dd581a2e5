namespace Parley.Core.Social;

/// <summary>The relation between two users as 1:1 messaging needs it.</summary>
/// <param name="FirstBlocksSecond">The first user blocked the second.</param>
/// <param name="SecondBlocksFirst">The second user blocked the first.</param>
/// <param name="Friends">The users are friends (both directions).</param>
[GenerateSerializer, Immutable, Alias("parley.direct-relation")]
public sealed record DirectRelation(bool FirstBlocksSecond, bool SecondBlocksFirst, bool Friends)
{
    public static readonly DirectRelation None = new(false, false, false);

    public bool Blocked => FirstBlocksSecond || SecondBlocksFirst;
}

/// <summary>Reads relations for the messaging path (implemented by the social module).</summary>
public interface IRelationReader
{
    /// <summary>The relation of <paramref name="first"/> and <paramref name="second"/>, in that order.</summary>
    Task<DirectRelation> GetDirectRelationAsync(string first, string second, CancellationToken cancellationToken = default);
}

/// <summary>Server-wide social policy, bound to <c>Parley:Social</c>.</summary>
public sealed class SocialOptions
{
    public const string Section = "Parley:Social";

    /// <summary>When true only friends may exchange 1:1 messages (off by default).</summary>
    public bool FriendsOnlyDirectMessages { get; set; }
}
