namespace Parley.Storage.Sqlite.Internal;

/// <summary>
/// ADR 0034 (stop 47): the messages' version index holds only changed rows, and a sparse anchor says where a
/// conversation's rows first committed after a version start. The SQL pieces every reader of a version range uses.
/// <list type="bullet">
/// <item>A row's <c>search_id</c> is the version it was first committed at (an edit or a revoke raises <c>version</c> and keeps
/// it); rows from before migration 15 hold NULL. A row is <i>changed</i> when <c>search_id IS NULL OR version &lt;&gt; search_id</c>:
/// those, and only those, are in <c>ix_messages_changed (conv_key, version, search_id)</c> (search_id too: SQLite checks the
/// partial index's predicate on every entry it reads, so without it each entry read its table row). Every other row has <c>version = search_id</c>.</item>
/// <item>Within a conversation first-commit versions increase with seq (the grain assigns seqs in one turn, the commit
/// pipeline gives versions in submission order, a retried batch one by one in the same order), and rows with NULL come
/// before every row with a search id. So the unchanged rows with a version above v are a seq range at the end of the
/// conversation's key range, starting at or above the seq of the last anchor (<c>seq % 64 = 0</c>, in
/// <c>ix_messages_anchor (conv_key, search_id)</c>) whose search id is at most v: at most 63 rows below the first of them.</item>
/// </list>
/// </summary>
internal static class SqliteVersionIndex
{
    /// <summary>The partial index's predicate, for alias <paramref name="a"/> (a query must state it to use the index).</summary>
    public static string Changed(string a) => "(" + a + ".search_id IS NULL OR " + a + ".version <> " + a + ".search_id)";

    /// <summary>
    /// A seq at or below every row of conversation <paramref name="key"/> first committed after version <paramref name="since"/>
    /// (SQL expressions): the last anchor whose search id is at most it; with none, the last anchor from before migration 15
    /// (every row with a search id is above it); else 0. Two or three pages of <c>ix_messages_anchor</c>.
    /// </summary>
    public static string FirstNewSeqBound(string key, string since) =>
        "COALESCE((SELECT a.seq FROM messages a INDEXED BY ix_messages_anchor WHERE a.conv_key = " + key + " AND a.seq % 64 = 0 AND a.search_id <= " + since
        + " ORDER BY a.search_id DESC LIMIT 1), (SELECT a.seq FROM messages a INDEXED BY ix_messages_anchor WHERE a.conv_key = " + key
        + " AND a.seq % 64 = 0 AND a.search_id IS NULL ORDER BY a.search_id DESC, a.seq DESC LIMIT 1), 0)";
}
