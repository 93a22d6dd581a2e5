using System.Globalization;
using Parley.Abstractions.Messaging;

namespace Parley.Storage.Compliance;

/// <summary>
/// The data and searches of issue 18's search cost checks, shared by the providers' own tests: each provider measures
/// what a search costs its own way (SQLite the database pages it reads, PostgreSQL the message_search rows) and bounds it.
/// </summary>
public abstract partial class MessageStoreComplianceTests
{
    /// <summary>
    /// A word common in other users' conversations and rare in bob's: bob has "mine" (with alice: 40 messages, every tenth
    /// "needle and thimble", the others "hay") and "also" (erin's 20 "straw"); carol's "theirs" (with dave) gets newer
    /// "needle elsewhere" messages, 1,000 per commit. With 3,000 of carol's, a search across bob's conversations with the
    /// server's window of 5,000 for a word only bob's messages hold ("thimble"), then for one carol's hold too ("needle");
    /// with 6,000 of carol's, "needle" again. Each must return bob's four (seqs 40, 30, 20, 10) without reaching its scan
    /// limit.
    /// </summary>
    /// <param name="indexedAsync">Run after each 3,000 of carol's are committed, before anything is measured: what makes the
    /// provider's index and statistics current.</param>
    /// <param name="costAsync">What the store's searches since its last call cost (called before and after each measured
    /// search; what it says before is dropped).</param>
    /// <returns>The cost of each measured search: bob's word, with carol's 3,000, with carol's 6,000.</returns>
    protected async Task<(long Own, long Common, long More)> SearchAWordCommonInOtherUsersConversationsAsync(Func<Task> indexedAsync, Func<Task<long>> costAsync)
    {
        await CreateDirectAsync("mine", "alice", "bob");
        await CreateDirectAsync("also", "bob", "erin");
        await CreateDirectAsync("theirs", "carol", "dave");
        var time = 1000L;
        await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(1, 40).Select(s =>
            Message("mine", s, s % 2 == 0 ? "alice" : "bob", serverTime: time++) with { SearchText = (s % 10 == 0 ? "needle and thimble " : "hay ") + s.ToString(CultureInfo.InvariantCulture) })));
        await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(1, 20).Select(s => Message("also", s, "erin", serverTime: time++) with { SearchText = "straw " + s.ToString(CultureInfo.InvariantCulture) })));
        var carols = 0;
        async Task AddCarolsAsync()
        {
            for (var round = 0; round < 3; round++)
            {
                var first = carols;
                carols += 1000;
                await CommitAsync(b => b.Messages.AddRange(Enumerable.Range(first + 1, 1000).Select(s => Message("theirs", s, "carol", serverTime: time++) with { SearchText = "needle elsewhere " + s.ToString(CultureInfo.InvariantCulture) })));
            }

            await indexedAsync();
        }

        async Task<long> SearchBobsAsync(string word)
        {
            await costAsync();
            var found = await Store.SearchAsync("bob", null, word, null, 21, maxScanned: 5000);
            Assert.Equal([40L, 30L, 20L, 10L], found.Select(m => m.Message.Seq));
            Assert.False(found.ScanLimitReached, $"the search for {word} stopped at its scan limit");
            return await costAsync();
        }

        await AddCarolsAsync();
        var own = await SearchBobsAsync("thimble");
        var common = await SearchBobsAsync("needle");
        await AddCarolsAsync();
        var more = await SearchBobsAsync("needle");
        return (own, common, more);
    }
}
