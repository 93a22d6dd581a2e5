using Parley.Core.Messaging;

namespace Parley.Core.Tests;

/// <summary>A conversation's member table: two members in fields, a dictionary from the third (issue 17, stop 47).</summary>
public sealed class MemberTableTests
{
    private sealed class State(int n)
    {
        public int N { get; } = n;
    }

    [Fact]
    public void MemberTable_TwoMembers_FoundByOrdinalKey_OthersNot()
    {
        var table = new MemberTable<State>();
        Assert.Equal(0, table.Count);
        Assert.False(table.TryGetValue("a", out _));

        table["a"] = new State(1);
        table["b"] = new State(2);

        Assert.Equal(2, table.Count);
        Assert.True(table.TryGetValue("a", out var a));
        Assert.Equal(1, a.N);
        Assert.Equal(2, table["b"].N);
        Assert.True(table.ContainsKey("b"));
        Assert.False(table.ContainsKey("A")); // ordinal, as the dictionary's comparer
        Assert.False(table.TryGetValue(new string('a', 1) + "b", out _));
        Assert.Throws<KeyNotFoundException>(() => table["c"]);
        Assert.Equal(["a", "b"], table.Select(kv => kv.Key));
    }

    [Fact]
    public void MemberTable_SetOverwrites_TryAddKeeps()
    {
        var table = new MemberTable<State>();
        table["a"] = new State(1);
        table["b"] = new State(2);

        table["a"] = new State(10);
        Assert.False(table.TryAdd("b", new State(20)));
        Assert.True(table.TryAdd("c", new State(3)));
        Assert.False(table.TryAdd("c", new State(30)));
        table["c"] = new State(31);

        Assert.Equal(3, table.Count);
        Assert.Equal(10, table["a"].N);
        Assert.Equal(2, table["b"].N);
        Assert.Equal(31, table["c"].N);
    }

    [Fact]
    public void MemberTable_ThirdKey_MovesAllToTheDictionary_InOrder()
    {
        var table = new MemberTable<State>();
        for (var i = 0; i < 50; i++)
        {
            table[$"u{i}"] = new State(i);
        }

        Assert.Equal(50, table.Count);
        for (var i = 0; i < 50; i++)
        {
            Assert.True(table.TryGetValue($"u{i}", out var s));
            Assert.Equal(i, s.N);
        }

        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"u{i}"), table.Select(kv => kv.Key));
        var sum = 0;
        foreach (var (_, state) in table)
        {
            sum += state.N;
        }

        Assert.Equal(Enumerable.Range(0, 50).Sum(), sum);
        Assert.True(table.Remove("u7"));
        Assert.False(table.Remove("u7"));
        Assert.False(table.ContainsKey("u7"));
        Assert.Equal(49, table.Count);
    }

    [Fact]
    public void MemberTable_Remove_KeepsTheOtherInOrder_AndANewKeyComesLast()
    {
        var table = new MemberTable<State>();
        table["a"] = new State(1);
        table["b"] = new State(2);

        Assert.True(table.Remove("a"));
        Assert.False(table.Remove("a"));
        Assert.Equal(1, table.Count);
        Assert.False(table.ContainsKey("a"));
        Assert.Equal(["b"], table.Select(kv => kv.Key));

        table["c"] = new State(3);
        Assert.Equal(["b", "c"], table.Select(kv => kv.Key));
        Assert.True(table.Remove("c"));
        Assert.True(table.Remove("b"));
        Assert.Equal(0, table.Count);
        Assert.Empty(table);

        // Empty again: refilled from the first place, and a third key still moves them all.
        table["x"] = new State(4);
        table["y"] = new State(5);
        table["z"] = new State(6);
        Assert.Equal(["x", "y", "z"], table.Select(kv => kv.Key));
        Assert.Equal(5, table["y"].N);
    }

    [Fact]
    public void MemberTable_NullKeyOrValue_Refused()
    {
        var table = new MemberTable<State>();
        Assert.Throws<ArgumentNullException>(() => table[null!] = new State(1));
        Assert.Throws<ArgumentNullException>(() => table["a"] = null!);
        Assert.Throws<ArgumentNullException>(() => table.TryGetValue(null!, out _));
    }

    [Fact]
    public void MemberTable_TwoMembers_AllocateOneSmallObject_NotADictionary()
    {
        // Issue 17 (stop 47): a 1:1 activation's members were a Dictionary (object, buckets and three entries: 200 B).
        var a = new State(1);
        var b = new State(2);
        _ = new MemberTable<State>(); // JIT first
        var before = GC.GetAllocatedBytesForCurrentThread();
        var table = new MemberTable<State> { ["a"] = a, ["b"] = b };
        var found = table.TryGetValue("b", out _);
        var count = 0;
        foreach (var _ in table)
        {
            count++;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(found);
        Assert.Equal(2, count);
        Assert.True(allocated <= 56, $"two members allocated {allocated} B");

        before = GC.GetAllocatedBytesForCurrentThread();
        var dictionary = new Dictionary<string, State>(StringComparer.Ordinal) { ["a"] = a, ["b"] = b };
        var dictionaryBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(dictionary.Count == 2 && dictionaryBytes >= allocated + 100, $"dictionary {dictionaryBytes} B, table {allocated} B");
    }
}
