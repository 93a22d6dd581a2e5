using Parley.Abstractions.Accounts;
using Parley.Abstractions.Social;

namespace Parley.Core.Social;

/// <summary>Reads the relation of two users from the relation store for the messaging path.</summary>
internal sealed class RelationReader(IRelationStore store, IAccountStore accounts) : IRelationReader
{
    public async Task<DirectRelation> GetDirectRelationAsync(string first, string second, CancellationToken cancellationToken = default)
    {
        if (first == second)
        {
            return DirectRelation.None;
        }

        // The flags, not the whole pair: one statement where the store has one (issue 17, every new 1:1 conversation).
        var ordered = string.CompareOrdinal(first, second) <= 0;
        var flags = ordered
            ? await store.GetPairFlagsAsync(first, second, cancellationToken).ConfigureAwait(false)
            : await store.GetPairFlagsAsync(second, first, cancellationToken).ConfigureAwait(false);
        return ordered
            ? DirectRelation.Of(flags.FirstBlocksSecond, flags.SecondBlocksFirst, flags.Friends)
            : DirectRelation.Of(flags.SecondBlocksFirst, flags.FirstBlocksSecond, flags.Friends);
    }

    public async ValueTask<(DirectRelation Relation, bool PeerExists)> GetDirectOpeningAsync(string first, string second, string peer, CancellationToken cancellationToken = default)
    {
        if (first != second)
        {
            var ordered = string.CompareOrdinal(first, second) <= 0;
            var both = ordered
                ? await store.GetPairFlagsAndUserAsync(first, second, peer, cancellationToken).ConfigureAwait(false)
                : await store.GetPairFlagsAndUserAsync(second, first, peer, cancellationToken).ConfigureAwait(false);
            if (both is { } found)
            {
                var (flags, exists) = found;
                return !exists ? (DirectRelation.None, false)
                    : ordered ? (DirectRelation.Of(flags.FirstBlocksSecond, flags.SecondBlocksFirst, flags.Friends), true)
                    : (DirectRelation.Of(flags.SecondBlocksFirst, flags.FirstBlocksSecond, flags.Friends), true);
            }
        }

        // The store has no such read (or a user with themself): the account, then the relation, as two reads.
        if (await accounts.GetUserAsync(peer, cancellationToken).ConfigureAwait(false) is null)
        {
            return (DirectRelation.None, false);
        }

        return (await GetDirectRelationAsync(first, second, cancellationToken).ConfigureAwait(false), true);
    }
}
