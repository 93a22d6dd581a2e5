namespace Parley.Storage.Sqlite.Internal;

/// <summary>
/// The shape of an FTS5 index, read from its structure record (row 10 of the table's <c>_data</c> shadow table, as
/// FTS5 documents it in fts5_index.c): a 4-byte cookie, an optional 4-byte version-2 marker, then SQLite varints: the
/// number of levels, of segments and the write counter; per level the number of its segments in an ongoing merge and
/// its segment count; per segment its id and first and last leaf page (version 2 adds five varints per segment: origin
/// and tombstone counters). Only read, never written: the merge decisions of <see cref="SqliteMessageStore"/> and
/// tests and benchmarks that report the segment count.
/// </summary>
internal sealed record Fts5Structure(IReadOnlyList<Fts5Level> Levels)
{
    private static readonly byte[] V2Marker = [0xFF, 0x00, 0x00, 0x01];

    /// <summary>Segments of every level.</summary>
    public int SegmentCount => Levels.Sum(l => l.SegmentPages.Count);

    /// <summary>Leaf pages of every segment.</summary>
    public long TotalPages => Levels.Sum(l => l.SegmentPages.Sum());

    /// <summary>Leaf pages of the largest segment (0 when the index is empty).</summary>
    public long LargestPages => Levels.SelectMany(l => l.SegmentPages).DefaultIfEmpty(0).Max();

    /// <summary>Whether an incremental merge has consumed part of its input segments and stopped (FTS5 resumes it).</summary>
    public bool MergeInProgress => Levels.Any(l => l.Merging > 0);

    /// <summary>The structure, or null when the record is missing or not in a format this reader knows.</summary>
    public static Fts5Structure? Parse(ReadOnlySpan<byte> record)
    {
        if (record.Length < 4)
        {
            return null;
        }

        var i = 4;
        var v2 = record.Length >= 8 && record.Slice(4, 4).SequenceEqual(V2Marker);
        if (v2)
        {
            i = 8;
        }

        if (!TryVarint(record, ref i, out var levelCount) || !TryVarint(record, ref i, out var segmentCount) || !TryVarint(record, ref i, out _)
            || levelCount > 10_000 || segmentCount > 10_000)
        {
            return null;
        }

        var levels = new List<Fts5Level>((int)levelCount);
        var seen = 0UL;
        for (var level = 0UL; level < levelCount; level++)
        {
            if (!TryVarint(record, ref i, out var merging) || !TryVarint(record, ref i, out var count) || count > segmentCount)
            {
                return null;
            }

            var pages = new List<long>((int)count);
            for (var s = 0UL; s < count; s++)
            {
                if (!TryVarint(record, ref i, out _) || !TryVarint(record, ref i, out var first) || !TryVarint(record, ref i, out var last))
                {
                    return null;
                }

                for (var extra = 0; v2 && extra < 5; extra++)
                {
                    if (!TryVarint(record, ref i, out _))
                    {
                        return null;
                    }
                }

                pages.Add(last >= first ? (long)(last - first + 1) : 0);
            }

            seen += count;
            levels.Add(new Fts5Level((int)merging, pages));
        }

        // The whole record read and the counts agree, or the format is not the one described above.
        return i == record.Length && seen == segmentCount ? new Fts5Structure(levels) : null;
    }

    // SQLite's varint: big-endian groups of 7 bits, the high bit set on every byte but the last; a ninth byte holds 8 bits.
    private static bool TryVarint(ReadOnlySpan<byte> data, ref int i, out ulong value)
    {
        value = 0;
        for (var k = 0; k < 9; k++)
        {
            if (i >= data.Length)
            {
                return false;
            }

            var b = data[i++];
            if (k == 8)
            {
                value = (value << 8) | b;
                return true;
            }

            value = (value << 7) | (uint)(b & 0x7F);
            if (b < 0x80)
            {
                return true;
            }
        }

        return true;
    }
}

/// <summary>One level of an FTS5 index: how many of its segments an ongoing merge is reading, and each segment's leaf pages (oldest first).</summary>
internal sealed record Fts5Level(int Merging, IReadOnlyList<long> SegmentPages);
