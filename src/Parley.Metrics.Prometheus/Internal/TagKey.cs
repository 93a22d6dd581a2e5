namespace Parley.Metrics.Prometheus.Internal;

/// <summary>
/// A tag set as a dictionary key, normalised by key order. Up to three tags live inline so that
/// looking up an existing series allocates nothing; more tags are copied to an array.
/// </summary>
internal readonly struct TagKey : IEquatable<TagKey>
{
    private readonly KeyValuePair<string, object?> _t0;
    private readonly KeyValuePair<string, object?> _t1;
    private readonly KeyValuePair<string, object?> _t2;
    private readonly KeyValuePair<string, object?>[]? _many;
    private readonly int _hash;

    private TagKey(int count, KeyValuePair<string, object?> t0, KeyValuePair<string, object?> t1, KeyValuePair<string, object?> t2)
    {
        Count = count;
        _t0 = t0;
        _t1 = t1;
        _t2 = t2;
        _many = null;
        var hash = new HashCode();
        for (var i = 0; i < count; i++)
        {
            Add(ref hash, this[i]);
        }
        _hash = hash.ToHashCode();
    }

    private TagKey(KeyValuePair<string, object?>[] many)
    {
        Count = many.Length;
        _t0 = _t1 = _t2 = default;
        _many = many;
        var hash = new HashCode();
        foreach (var tag in many)
        {
            Add(ref hash, tag);
        }
        _hash = hash.ToHashCode();
    }

    public int Count { get; }

    public KeyValuePair<string, object?> this[int index] =>
        _many is not null ? _many[index] : index switch { 0 => _t0, 1 => _t1, _ => _t2 };

    public static TagKey Create(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        switch (tags.Length)
        {
            case 0:
                return default;
            case 1:
                return new TagKey(1, tags[0], default, default);
            case 2:
                {
                    var a = tags[0];
                    var b = tags[1];
                    if (Greater(a, b))
                    {
                        (a, b) = (b, a);
                    }
                    return new TagKey(2, a, b, default);
                }
            case 3:
                {
                    var a = tags[0];
                    var b = tags[1];
                    var c = tags[2];
                    if (Greater(a, b))
                    {
                        (a, b) = (b, a);
                    }
                    if (Greater(b, c))
                    {
                        (b, c) = (c, b);
                    }
                    if (Greater(a, b))
                    {
                        (a, b) = (b, a);
                    }
                    return new TagKey(3, a, b, c);
                }
            default:
                {
                    var many = tags.ToArray();
                    Array.Sort(many, static (x, y) => string.CompareOrdinal(x.Key, y.Key));
                    return new TagKey(many);
                }
        }
    }

    public bool Equals(TagKey other)
    {
        if (Count != other.Count || _hash != other._hash)
        {
            return false;
        }
        for (var i = 0; i < Count; i++)
        {
            var x = this[i];
            var y = other[i];
            if (!string.Equals(x.Key, y.Key, StringComparison.Ordinal) || !Equals(x.Value, y.Value))
            {
                return false;
            }
        }
        return true;
    }

    public override bool Equals(object? obj) => obj is TagKey other && Equals(other);

    public override int GetHashCode() => _hash;

    private static bool Greater(KeyValuePair<string, object?> x, KeyValuePair<string, object?> y) =>
        string.CompareOrdinal(x.Key, y.Key) > 0;

    private static void Add(ref HashCode hash, KeyValuePair<string, object?> tag)
    {
        hash.Add(tag.Key, StringComparer.Ordinal);
        hash.Add(tag.Value);
    }
}
