using Parley.Protocol;

namespace Parley.Compat.OpenIM.Tests;

/// <summary>The edge's mapping between OpenIM's unescaped 1:1 ids and Parley's escaped ones (ADR 0010).</summary>
public sealed class OpenImConversationIdTests
{
    [Theory]
    [InlineData("x", "y_z")]
    [InlineData("x_y", "z")]
    [InlineData("alice", "bob")]
    [InlineData("a:b", "c")]
    [InlineData("_", "__")]
    [InlineData("x_", "_x")]
    [InlineData("u", "u")]
    public void ToOpenIm_IsOpenImsForm_AndFromOpenIm_GivesEachCallerItsOwnConversation(string a, string b)
    {
        var parley = Ids.DirectConversationId(a, b);
        var openIm = OpenImMessages.ToOpenIm(parley, null);
        Assert.Equal(string.CompareOrdinal(a, b) <= 0 ? $"si_{a}_{b}" : $"si_{b}_{a}", openIm);
        Assert.Equal(parley, OpenImMessages.FromOpenIm(openIm, a));
        Assert.Equal(parley, OpenImMessages.FromOpenIm(openIm, b));
        // A notification conversation (session type 4) names the same Parley 1:1.
        Assert.Equal(parley, OpenImMessages.FromOpenIm("sn_" + openIm[3..], a));
        Assert.Equal(parley, OpenImMessages.FromOpenIm("sn_" + openIm[3..], b));
        Assert.Equal(b, OpenImMessages.PeerOf(parley, a));
    }

    [Fact]
    public void FromOpenIm_GroupIdsAndIdsWithoutTheCaller_AreUnchanged()
    {
        Assert.Equal("sg_g_1", OpenImMessages.FromOpenIm("sg_g_1", "g"));
        Assert.Equal("si_bob_carol", OpenImMessages.FromOpenIm("si_bob_carol", "alice"));
        Assert.Equal("sg_g_1", OpenImMessages.ToOpenIm("sg_g_1", null));
    }
}
