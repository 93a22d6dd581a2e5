using Parley.Protocol;

namespace Parley.Core.Tests;

/// <summary>Issue 15 defect 4: 1:1 conversation ids are unambiguous for every pair of valid user ids (ADR 0010).</summary>
public sealed class DirectConversationIdTests
{
    private static readonly string[] TrickyIds =
        ["x", "y", "z", "x_y", "y_z", "x_y_z", "_", "__", "_x", "x_", ":", "::", "x:", ":_", "_:", "x:_y", "x::y", "a.b@c-d", "si", "si_x"];

    [Fact]
    public void DirectConversationId_EveryPairOfTrickyIds_IsDistinctOrderFreeAndParsesBack()
    {
        var seen = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        foreach (var a in TrickyIds)
        {
            foreach (var b in TrickyIds)
            {
                var id = Ids.DirectConversationId(a, b);
                Assert.Equal(id, Ids.DirectConversationId(b, a));
                Assert.True(Ids.IsValidConversationId(id), id);
                Assert.True(Ids.TryParseDirectConversationId(id, out var first, out var second), id);
                var pair = string.CompareOrdinal(a, b) <= 0 ? (a, b) : (b, a);
                Assert.Equal(pair, (first, second));
                Assert.Equal(b, Ids.DirectPeer(id, a));
                if (seen.TryGetValue(id, out var other))
                {
                    Assert.Equal(other, pair);
                }

                seen[id] = pair;
            }
        }

        Assert.Equal(TrickyIds.Length * (TrickyIds.Length + 1) / 2, seen.Count);
    }

    [Fact]
    public void IsDirectConversationIdOf_AnswersAsComparingWithTheBuiltId_ForEveryPairAndEveryCandidateId()
    {
        // Every candidate: each pair's own id, every other pair's id, and near misses (a character more, less or changed).
        var candidates = new List<string> { "", "si_", "si_x", "si_x_", "sg_x_y", "si_x_y_", "si_x__y", "si_y_x", "xsi_x_y" };
        foreach (var a in TrickyIds)
        {
            foreach (var b in TrickyIds)
            {
                var id = Ids.DirectConversationId(a, b);
                candidates.Add(id);
                candidates.Add(id + "x");
                candidates.Add(id[..^1]);
                candidates.Add("sj" + id[2..]);
            }
        }

        var matches = 0;
        foreach (var a in TrickyIds)
        {
            foreach (var b in TrickyIds)
            {
                var built = Ids.DirectConversationId(a, b);
                foreach (var candidate in candidates)
                {
                    var expected = candidate == built;
                    Assert.True(expected == Ids.IsDirectConversationIdOf(candidate, a, b), $"{candidate} for ({a}, {b})");
                    matches += expected ? 1 : 0;
                }
            }
        }

        Assert.True(matches >= TrickyIds.Length * TrickyIds.Length, "every pair matched its own id");
        Assert.True(Ids.IsDirectConversationIdOf("si_alice_bob", "bob", "alice"));
        Assert.False(Ids.IsDirectConversationIdOf("si_alice_bob", "bob", "alicf"));
    }

    [Fact]
    public void DirectConversationId_TheIssuesCollision_IsTwoIds_PlainIdsStayOpenImsForm()
    {
        Assert.Equal("si_x_y:_z", Ids.DirectConversationId("x", "y_z"));
        Assert.Equal("si_x:_y_z", Ids.DirectConversationId("x_y", "z"));
        Assert.Equal("si_alice_bob", Ids.DirectConversationId("bob", "alice"));
        Assert.Equal("si_a::b_c", Ids.DirectConversationId("a:b", "c"));
        var longest = new string('_', Ids.MaxLength);
        Assert.True(Ids.IsValidConversationId(Ids.DirectConversationId(longest, longest.Replace('_', ':'))));
    }

    [Theory]
    [InlineData("si_x_y_z")]
    [InlineData("si_x")]
    [InlineData("si_x_")]
    [InlineData("si__x")]
    [InlineData("si_x:y_z")]
    [InlineData("si_x_y:")]
    [InlineData("si_z_a")]
    [InlineData("sg_g1")]
    [InlineData("")]
    public void TryParseDirectConversationId_NotAnEscapedPair_IsFalse(string id) =>
        Assert.False(Ids.TryParseDirectConversationId(id, out _, out _));
}
