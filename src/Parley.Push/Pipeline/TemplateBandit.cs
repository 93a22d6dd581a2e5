using System.Collections.Concurrent;

namespace Parley.Push.Pipeline;

/// <summary>
/// Epsilon-greedy choice among a campaign's marketing templates (arms), rewarded by clicks. The estimate is the
/// Laplace-smoothed click rate (clicks + 1) / (sends + 2) so an untried template is explored first. In memory.
/// </summary>
internal sealed class TemplateBandit
{
    private readonly ConcurrentDictionary<(string Campaign, string Template), Arm> _arms = new();
    private readonly double _epsilon;
    private readonly Random _random;
    private readonly Lock _randomLock = new();

    public TemplateBandit(PushOptions options)
    {
        _epsilon = options.BanditEpsilon;
#pragma warning disable CA5394 // Exploration needs no cryptographic randomness.
        _random = options.RandomSeed is { } seed ? new Random(seed) : new Random();
    }

    public PushTemplate Choose(string campaign, IReadOnlyList<PushTemplate> templates)
    {
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
                var score = Score(campaign, t.TemplateId);
                if (score > best)
                {
                    best = score;
                    chosen = t;
                }
            }
        }

        Interlocked.Increment(ref _arms.GetOrAdd((campaign, chosen.TemplateId), _ => new Arm()).Sends);
        return chosen;
    }

    public void Reward(string campaign, string templateId) =>
        Interlocked.Increment(ref _arms.GetOrAdd((campaign, templateId), _ => new Arm()).Clicks);

    public double Score(string campaign, string templateId) =>
        _arms.TryGetValue((campaign, templateId), out var arm) ? (Volatile.Read(ref arm.Clicks) + 1.0) / (Volatile.Read(ref arm.Sends) + 2.0) : 0.5;

    public (long Sends, long Clicks) Stats(string campaign, string templateId) =>
        _arms.TryGetValue((campaign, templateId), out var arm) ? (arm.Sends, arm.Clicks) : (0, 0);

    private sealed class Arm
    {
#pragma warning disable SA1401, CA1051 // Interlocked needs fields.
        public long Sends;
        public long Clicks;
#pragma warning restore SA1401, CA1051
    }
}
