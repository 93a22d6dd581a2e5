using Parley.Core.Social;

namespace Parley.Core.Tests;

/// <summary>The relation of two users as 1:1 messaging needs it, one shared instance per combination (issue 17's soak, stop 41).</summary>
public sealed class DirectRelationTests
{
    [Theory]
    [InlineData(false, false, false)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(true, true, false)]
    [InlineData(false, false, true)]
    [InlineData(true, false, true)]
    [InlineData(false, true, true)]
    [InlineData(true, true, true)]
    public void Of_IsTheRelationAsked_AndTheSameInstanceEachTime(bool firstBlocksSecond, bool secondBlocksFirst, bool friends)
    {
        var relation = DirectRelation.Of(firstBlocksSecond, secondBlocksFirst, friends);
        Assert.Equal(new DirectRelation(firstBlocksSecond, secondBlocksFirst, friends), relation);
        Assert.Equal(firstBlocksSecond || secondBlocksFirst, relation.Blocked);
        Assert.Same(relation, DirectRelation.Of(firstBlocksSecond, secondBlocksFirst, friends));
    }

    [Fact]
    public void Of_NoRelation_IsNone() => Assert.Same(DirectRelation.None, DirectRelation.Of(false, false, false));
}
