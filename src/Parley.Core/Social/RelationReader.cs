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

        var ordered = string.CompareOrdinal(first, second) <= 0;
        var pair = ordered
            ? await store.GetPairAsync(first, second, cancellationToken).ConfigureAwait(false)
            : await store.GetPairAsync(second, first, cancellationToken).ConfigureAwait(false);
        return ordered
            ? new DirectRelation(pair.FirstBlocksSecond, pair.SecondBlocksFirst, pair.Friends)
            : new DirectRelation(pair.SecondBlocksFirst, pair.FirstBlocksSecond, pair.Friends);
    }
}
