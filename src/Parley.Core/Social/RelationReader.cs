using Parley.Abstractions.Social;

namespace Parley.Core.Social;

/// <summary>Reads the relation of two users from the relation store for the messaging path.</summary>
internal sealed class RelationReader(IRelationStore store) : IRelationReader
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
}
