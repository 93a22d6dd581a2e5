using System.Globalization;
using System.Text;
using System.Text.Json;
using CsCheck;

namespace Parley.Testing;

/// <summary>
/// Shared CsCheck generators for the fuzz tests (issue 15): random bytes, mutations of valid inputs and random JSON
/// built from the field names the real endpoints read. The bounded CI run uses the given iteration counts; a longer
/// run multiplies them with <c>PARLEY_FUZZ_SCALE</c> (docs/security.md), and a failure prints CsCheck's seed to replay.
/// </summary>
public static class Fuzz
{
    /// <summary>The iterations of a run: <paramref name="ci"/> times <c>PARLEY_FUZZ_SCALE</c> (default 1).</summary>
    public static long Iterations(long ci) =>
        Environment.GetEnvironmentVariable("PARLEY_FUZZ_SCALE") is { Length: > 0 } scale && long.TryParse(scale, NumberStyles.None, CultureInfo.InvariantCulture, out var factor) && factor > 0
            ? ci * factor
            : ci;

    /// <summary>Random bytes, 0..<paramref name="max"/> long.</summary>
    public static Gen<byte[]> Bytes(int max) => Gen.Byte.Array[0, max];

    /// <summary>A valid input with a few random edits: flipped bytes, a cut, an insertion, a duplicated tail.</summary>
    public static Gen<byte[]> Mutations(IReadOnlyList<byte[]> seeds) =>
        Gen.Select(Gen.Int[0, seeds.Count - 1], Gen.Int[1, 4], Gen.Int, Gen.Byte.Array[1, 8], (index, edits, seed, noise) =>
        {
            var bytes = new List<byte>(seeds[index]);
            var random = new Random(seed);
            for (var i = 0; i < edits; i++)
            {
                var at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
                switch (random.Next(4))
                {
                    case 0 when bytes.Count > 0:
                        bytes[at] ^= (byte)(1 << random.Next(8));
                        break;
                    case 1:
                        bytes.RemoveRange(at, bytes.Count - at);
                        break;
                    case 2:
                        bytes.InsertRange(at, noise);
                        break;
                    default:
                        bytes.AddRange(bytes.Skip(at).Take(16).ToArray());
                        break;
                }
            }

            return bytes.ToArray();
        });

    /// <summary>Random JSON documents whose objects use <paramref name="fields"/> as keys (so parsers get past "unknown field").</summary>
    public static Gen<string> Json(IReadOnlyList<string> fields)
    {
        Gen<string> Value(int depth) => depth <= 0
            ? Scalar(fields)
            : Gen.Frequency(
                (6, Scalar(fields)),
                (2, Gen.Select(Gen.Int[0, fields.Count - 1].Array[0, 5], Value(depth - 1).Array[5], (keys, values) =>
                    "{" + string.Join(",", keys.Select((k, i) => JsonSerializer.Serialize(fields[k]) + ":" + values[i])) + "}")),
                (1, Value(depth - 1).Array[0, 4].Select(items => "[" + string.Join(",", items) + "]")));

        return Gen.Frequency(
            (8, Gen.Select(Gen.Int[0, fields.Count - 1].Array[0, 6], Value(2).Array[6], (keys, values) =>
                "{" + string.Join(",", keys.Select((k, i) => JsonSerializer.Serialize(fields[k]) + ":" + values[i])) + "}")),
            (1, Value(2)),
            (1, Gen.String.Select(s => s)));
    }

    private static Gen<string> Scalar(IReadOnlyList<string> fields) => Gen.Frequency(
        (2, Gen.Long.Select(v => v.ToString(CultureInfo.InvariantCulture))),
        (1, Gen.Int[-3, 300].Select(v => v.ToString(CultureInfo.InvariantCulture))),
        (1, Gen.Double.Select(v => double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "1e400")),
        (1, Gen.OneOf(Gen.Const("true"), Gen.Const("false"), Gen.Const("null"), Gen.Const("\"\""), Gen.Const("9223372036854775808"), Gen.Const("-0"), Gen.Const("\"\\u0000\""))),
        (2, Gen.String.Select(s => JsonSerializer.Serialize(s))),
        (1, Gen.Int[0, fields.Count - 1].Select(i => JsonSerializer.Serialize(fields[i]))),
        (1, Gen.Char[' ', '~'].Array[0, 40].Select(c => JsonSerializer.Serialize(new string(c)))));

    /// <summary>UTF-8 bytes of a string.</summary>
    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
