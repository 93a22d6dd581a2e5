using System.Collections.Concurrent;

namespace Parley.Push.Pipeline;

/// <summary>
/// Epsilon-greedy choice among a campaign's marketing templates (arms), rewarded by clicks. The estimate is the
/// Laplace-smoothed click rate (clicks + 1) / (sends + 2) so an untried template is explored first. The sends and clicks
/// live in <see cref="IPushCounters"/> (one hash per campaign, fields <c>{template}:s</c> and <c>{template}:c</c>): in
/// memory on one node, shared in a cluster so every node learns from every node's sends and clicks (ADR 0014 §6). Each
/// node chooses from its view of the campaign's arms: read once per submit (at most once a second when shared) plus its
/// own choices since; its choices are written once per submit, a click at once.
/// </summary>
internal sealed class TemplateBandit
{
    // A campaign's learning outlives its run by this long after its last send or click.
    private static readonly TimeSpan Retention = TimeSpan.FromDays(90);
    private static readonly TimeSpan SharedReadInterval = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<string, Campaign> _campaigns = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Campaign, string Template), long> _unwritten = [];
    private readonly IPushCounters _counters;
    private readonly TimeProvider _time;
    private readonly double _epsilon;
    private readonly Random _random;
    private readonly Lock _randomLock = new();

    public TemplateBandit(PushOptions options, IPushCounters counters, TimeProvider time)
    {
        _counters = counters;
        _time = time;
        _epsilon = options.BanditEpsilon;
#pragma warning disable CA5394 // Exploration needs no cryptographic randomness.
        _random = options.RandomSeed is { } seed ? new Random(seed) : new Random();
    }

    /// <summary>
    /// Loads the campaign's arms before a submit chooses for it: once (in memory, this node's view is the whole truth) or
    /// when the last read is older than a second (shared). Called under the pipeline's submit gate.
    /// </summary>
    public async ValueTask PrepareAsync(string campaign, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        if (_campaigns.TryGetValue(campaign, out var known) && (!_counters.Shared || now - known.ReadAt < (long)SharedReadInterval.TotalMilliseconds))
        {
            return;
        }

        var fields = await _counters.HashGetAllAsync(Key(campaign), cancellationToken).ConfigureAwait(false);
        var fresh = new Campaign(now);
        foreach (var (field, value) in fields)
        {
            var colon = field.LastIndexOf(':');
            if (colon <= 0)
            {
                continue;
            }

            var arm = fresh.Arms.GetOrAdd(field[..colon], _ => new Arm());
            if (field.AsSpan(colon + 1) is "s")
            {
                arm.Sends = value;
            }
            else if (field.AsSpan(colon + 1) is "c")
            {
                arm.Clicks = value;
            }
        }

        _campaigns[campaign] = fresh;
    }

    /// <summary>Chooses a template (after <see cref="PrepareAsync"/>); counted as a send, written by <see cref="FlushAsync"/>. Under the submit gate.</summary>
    public PushTemplate Choose(string campaign, IReadOnlyList<PushTemplate> templates)
    {
        var arms = _campaigns.GetOrAdd(campaign, _ => new Campaign(_time.GetUtcNow().ToUnixTimeMilliseconds())).Arms;
        PushTemplate chosen;
        double roll;
        int pick;
        lock (_randomLock)
        {
            roll = _random.NextDouble();
            pick = _random.Next(templates.Count);
        }
#pragma warning restore CA5394

        if (roll < _epsilon)
        {
            chosen = templates[pick];
        }
        else
        {
            chosen = templates[0];
            var best = double.MinValue;
            foreach (var t in templates)
            {
                var score = arms.TryGetValue(t.TemplateId, out var arm) ? Score(arm) : 0.5;
                if (score > best)
                {
                    best = score;
                    chosen = t;
                }
            }
        }

        Interlocked.Increment(ref arms.GetOrAdd(chosen.TemplateId, _ => new Arm()).Sends);
        var key = (campaign, chosen.TemplateId);
        _unwritten[key] = _unwritten.GetValueOrDefault(key) + 1;
        return chosen;
    }

    /// <summary>Writes the sends chosen since the last flush, one round trip per campaign. Under the submit gate.</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_unwritten.Count == 0)
        {
            return;
        }

        var byCampaign = _unwritten.GroupBy(kv => kv.Key.Campaign, StringComparer.Ordinal)
            .Select(g => (Campaign: g.Key, Deltas: g.Select(kv => new KeyValuePair<string, long>(kv.Key.Template + ":s", kv.Value)).ToList()))
            .ToList();
        _unwritten.Clear();
        foreach (var (campaign, deltas) in byCampaign)
        {
            await _counters.HashIncrementAsync(Key(campaign), deltas, Retention, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask RewardAsync(string campaign, string templateId, CancellationToken cancellationToken)
    {
        if (_campaigns.TryGetValue(campaign, out var known))
        {
            Interlocked.Increment(ref known.Arms.GetOrAdd(templateId, _ => new Arm()).Clicks);
        }

        await _counters.HashIncrementAsync(Key(campaign), [new(templateId + ":c", 1)], Retention, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>(sends, clicks) per template of a campaign, as written (every node's, when shared).</summary>
    public async ValueTask<IReadOnlyDictionary<string, (long Sends, long Clicks)>> StatsAsync(string campaign, CancellationToken cancellationToken)
    {
        var fields = await _counters.HashGetAllAsync(Key(campaign), cancellationToken).ConfigureAwait(false);
        var stats = new Dictionary<string, (long Sends, long Clicks)>(StringComparer.Ordinal);
        foreach (var (field, value) in fields)
        {
            var colon = field.LastIndexOf(':');
            if (colon <= 0)
            {
                continue;
            }

            var template = field[..colon];
            var (sends, clicks) = stats.GetValueOrDefault(template);
            stats[template] = field.AsSpan(colon + 1) is "s" ? (value, clicks) : (sends, field.AsSpan(colon + 1) is "c" ? value : clicks);
        }

        return stats;
    }

    /// <summary>(sends, clicks) of a template in this node's view (its own since the last read).</summary>
    public (long Sends, long Clicks) Stats(string campaign, string templateId) =>
        _campaigns.TryGetValue(campaign, out var known) && known.Arms.TryGetValue(templateId, out var arm) ? (Volatile.Read(ref arm.Sends), Volatile.Read(ref arm.Clicks)) : (0, 0);

    private static double Score(Arm arm) => (Volatile.Read(ref arm.Clicks) + 1.0) / (Volatile.Read(ref arm.Sends) + 2.0);

    private static string Key(string campaign) => "bandit:" + campaign;

    private sealed class Campaign(long readAt)
    {
        public long ReadAt { get; } = readAt;

        public ConcurrentDictionary<string, Arm> Arms { get; } = new(StringComparer.Ordinal);
    }

    private sealed class Arm
    {
#pragma warning disable SA1401, CA1051 // Interlocked needs fields.
        public long Sends;
        public long Clicks;
#pragma warning restore SA1401, CA1051
    }
}
