// Stop 48, push: FormBody's form encoding, the byte loop (base, d1d01eb) against runs found by SearchValues (new), in one
// process, rounds interleaved (the new one: a run searched only from an unreserved byte): ns per MiPush body (the benchmark's fields: the push benchmark's IM push, a 22-char push id,
// a 32-hex trace id) and per body with a 64-char regid and a Chinese title and text. Also checks both give the same bytes.
using System.Buffers;
using System.Diagnostics;
using System.Text;

static class Old
{
    static ReadOnlySpan<byte> Hex => "0123456789ABCDEF"u8;
    static bool IsUnreserved(byte b) =>
        (uint)((b | 0x20) - 'a') <= 'z' - 'a' || (uint)(b - '0') <= 9 || b is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~';
    public static int Encode(ReadOnlySpan<byte> utf8, Span<byte> dst)
    {
        var w = 0;
        foreach (var b in utf8)
        {
            if (IsUnreserved(b)) dst[w++] = b;
            else if (b == (byte)' ') dst[w++] = (byte)'+';
            else { dst[w++] = (byte)'%'; dst[w++] = Hex[b >> 4]; dst[w++] = Hex[b & 0xF]; }
        }
        return w;
    }
}

static class New
{
    static ReadOnlySpan<byte> Hex => "0123456789ABCDEF"u8;
    static readonly SearchValues<byte> UnreservedBytes = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"u8);
    public static int Encode(ReadOnlySpan<byte> utf8, Span<byte> dst)
    {
        var w = 0;
        var i = 0;
        while (i < utf8.Length)
        {
            var b = utf8[i];
            if (UnreservedBytes.Contains(b))
            {
                var rest = utf8[i..];
                var run = rest.IndexOfAnyExcept(UnreservedBytes);
                if (run < 0) run = rest.Length;
                rest[..run].CopyTo(dst[w..]); w += run; i += run;
            }
            else if (b == (byte)' ') { dst[w++] = (byte)'+'; i++; }
            else { dst[w] = (byte)'%'; dst[w + 1] = Hex[b >> 4]; dst[w + 2] = Hex[b & 0xF]; w += 3; i++; }
        }
        return w;
    }
}

static class Program
{
    static byte[][] Fields(string regid, string title, string text) =>
    [.. new[]
    {
        "registration_id", regid, "restricted_package_name", "com.parley.app", "title", title, "description", text,
        "payload", "{\"push_id\":\"Xq3bT9kLm2PzR8vW1yN0aQ\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"message_id\":\"t7\",\"conversation_id\":\"c-t7\",\"category\":\"im\",\"badge\":\"1\",\"digest_count\":\"0\"}",
        "pass_through", "0", "notify_type", "-1", "notify_id", "123456", "time_to_live", "86400000",
        "extra.channel_id", "parley_im", "extra.push_id", "Xq3bT9kLm2PzR8vW1yN0aQ", "extra.trace_id", "4bf92f3577b34da6a3ce929d0e0e4736",
    }.Select(Encoding.UTF8.GetBytes)];

    static double Run(byte[][] fields, bool isNew, int bodies, byte[] dst)
    {
        var t = Stopwatch.GetTimestamp();
        var total = 0;
        for (var i = 0; i < bodies; i++)
        {
            foreach (var f in fields)
            {
                total += isNew ? New.Encode(f, dst) : Old.Encode(f, dst);
            }
        }
        if (total == 42) Console.Write("");
        return Stopwatch.GetElapsedTime(t).TotalNanoseconds / bodies;
    }

    static void Main(string[] args)
    {
        var rounds = args.Length > 0 ? int.Parse(args[0]) : 8;
        var cases = new (string Name, byte[][] Fields)[]
        {
            ("benchmark's body (regid-1234, Sender, hello)", Fields("regid-1234", "Sender", "hello")),
            ("64-char regid, Chinese title and text", Fields("d//igwEhgBGCI2TG6MWqSOk4e2RAhR9zMJwi5eQxD8Ng+YxJ1u3nXcpa0vQzKw==", "张伟", "你好，明天下午三点开会，别忘了带上报告。")),
        };
        var dst = new byte[8192];
        var dst2 = new byte[8192];
        foreach (var (name, fields) in cases)
        {
            foreach (var f in fields)
            {
                var a = Old.Encode(f, dst); var b = New.Encode(f, dst2);
                if (!dst.AsSpan(0, a).SequenceEqual(dst2.AsSpan(0, b))) throw new Exception("different bytes: " + Encoding.UTF8.GetString(f));
            }
            for (var w = 0; w < 3; w++) { Run(fields, false, 200_000, dst); Run(fields, true, 200_000, dst); }
            var o = new List<double>(); var n = new List<double>();
            for (var r = 0; r < rounds; r++)
            {
                if (r % 2 == 0) { o.Add(Run(fields, false, 500_000, dst)); n.Add(Run(fields, true, 500_000, dst)); }
                else { n.Add(Run(fields, true, 500_000, dst)); o.Add(Run(fields, false, 500_000, dst)); }
            }
            o.Sort(); n.Sort();
            Console.WriteLine($"{name}: ns per body, byte loop {string.Join(" ", o.Select(x => x.ToString("F0")))} (median {o[rounds / 2]:F0}); runs {string.Join(" ", n.Select(x => x.ToString("F0")))} (median {n[rounds / 2]:F0}); ratio {n[rounds / 2] / o[rounds / 2]:F2}");
        }
    }
}
