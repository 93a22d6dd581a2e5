using System.Globalization;
using Parley.Push;
using StackExchange.Redis;

namespace Parley.Hosting.Push;

/// <summary>
/// The push pipeline's counters in Redis (ADR 0014 §6), for <c>Parley:Cluster:Mode=Redis</c>: the vendor quotas per app
/// and device per day, the marketing cap per user per day and the template bandit's counts are then one set for the
/// whole cluster, so two nodes together grant a vendor quota once; a vendor's token bucket and vendor-wide pause are one
/// for the cluster too, so the nodes together send at the configured rate. Each increment is one Lua call on one key (INCRBY or
/// HINCRBY, then PEXPIRE: atomic, and valid on a Redis Cluster since a script touches one key); several keys go in one
/// pipelined batch (one round trip). Keys are <c>{prefix}{key}</c>, the prefix being the Orleans service id, so
/// deployments sharing a Redis stay apart. The connection is made on first use and re-established by the client.
/// </summary>
public sealed class RedisPushCounters : IPushCounters, IAsyncDisposable
{
    private const string IncrementScript = "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) redis.call('PEXPIRE', KEYS[1], ARGV[2]) return v";
    private const string HashIncrementScript =
        "for i = 1, #ARGV - 1, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end redis.call('PEXPIRE', KEYS[1], ARGV[#ARGV]) return 1";

    // A vendor's token bucket (KEYS[1], a hash: t = tokens, at = last refill, Unix ms), pause (KEYS[2], Unix ms) and, when
    // given, a category's block (KEYS[3], Unix ms); ARGV: now, rate per second, burst. Answers {wait, blocked until}.
    // Paused: wait = -(ms left). Blocked: {0, until}, no token taken. Otherwise refill by the time since the last refill (a caller whose
    // clock is behind refills nothing, so clock skew between nodes grants at most skew x rate once, never a lasting
    // excess), take a token (0) or answer the ms until the next one. Same arithmetic as InMemoryPushCounters.Bucket. The
    // keys share a hash tag ({vendor}), so the script is valid on a Redis Cluster.
    private const string TakeTokenScript = """
        local now = tonumber(ARGV[1])
        local pause = tonumber(redis.call('GET', KEYS[2]) or '0')
        if pause > now then return {now - pause, 0} end
        if #KEYS > 2 then
          local blocked = tonumber(redis.call('GET', KEYS[3]) or '0')
          if blocked > now then return {0, blocked} end
        end
        local rate = tonumber(ARGV[2])
        local burst = tonumber(ARGV[3])
        local b = redis.call('HMGET', KEYS[1], 't', 'at')
        local tokens = tonumber(b[1]) or burst
        local at = tonumber(b[2]) or now
        if now > at then
          tokens = math.min(burst, tokens + (now - at) * rate / 1000)
          at = now
        end
        local wait = 0
        if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
        redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'at', string.format('%d', at))
        redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 60000)
        return {wait, 0}
        """;

    // Raises the pause or category block (KEYS[1]) to ARGV[1] (Unix ms), never lowers it; the key then lives ARGV[2] ms.
    private const string PauseScript = """
        local untilMs = tonumber(ARGV[1])
        local current = tonumber(redis.call('GET', KEYS[1]) or '0')
        if untilMs > current then redis.call('SET', KEYS[1], string.format('%d', untilMs), 'PX', ARGV[2]) end
        return 1
        """;

    private readonly Lazy<Task<ConnectionMultiplexer>> _connection;
    private readonly string _prefix;

    public RedisPushCounters(string configuration, string prefix)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false; // a Redis that is briefly away: commands fail, the client reconnects
        _connection = new Lazy<Task<ConnectionMultiplexer>>(() => ConnectionMultiplexer.ConnectAsync(options));
        _prefix = prefix;
    }

    public bool Shared => true;

    public async ValueTask<long[]> IncrementAsync(IReadOnlyList<string> keys, long delta, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return [];
        }

        var db = await DatabaseAsync().ConfigureAwait(false);
        RedisValue[] args = [delta, (long)timeToLive.TotalMilliseconds];
        if (keys.Count == 1)
        {
            return [(long)await db.ScriptEvaluateAsync(IncrementScript, [_prefix + keys[0]], args).ConfigureAwait(false)];
        }

        var batch = db.CreateBatch();
        var calls = new Task<RedisResult>[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            calls[i] = batch.ScriptEvaluateAsync(IncrementScript, [_prefix + keys[i]], args);
        }

        batch.Execute();
        var results = await Task.WhenAll(calls).ConfigureAwait(false);
        return [.. results.Select(r => (long)r)];
    }

    public async ValueTask HashIncrementAsync(string key, IReadOnlyList<KeyValuePair<string, long>> deltas, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deltas);
        if (deltas.Count == 0)
        {
            return;
        }

        var args = new RedisValue[(deltas.Count * 2) + 1];
        for (var i = 0; i < deltas.Count; i++)
        {
            args[2 * i] = deltas[i].Key;
            args[(2 * i) + 1] = deltas[i].Value;
        }

        args[^1] = (long)timeToLive.TotalMilliseconds;
        var db = await DatabaseAsync().ConfigureAwait(false);
        await db.ScriptEvaluateAsync(HashIncrementScript, [_prefix + key], args).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyDictionary<string, long>> HashGetAllAsync(string key, CancellationToken cancellationToken = default)
    {
        var db = await DatabaseAsync().ConfigureAwait(false);
        var entries = await db.HashGetAllAsync(_prefix + key).ConfigureAwait(false);
        var result = new Dictionary<string, long>(entries.Length, StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (long.TryParse(entry.Value.ToString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            {
                result[entry.Name.ToString()] = value;
            }
        }

        return result;
    }

    public async ValueTask<PushTokenAnswer> TakeTokenAsync(string bucketKey, string pauseKey, string? blockKey, long nowMs, double ratePerSecond, int burst, CancellationToken cancellationToken = default)
    {
        var db = await DatabaseAsync().ConfigureAwait(false);
        var keys = blockKey is null
            ? new RedisKey[] { _prefix + bucketKey, _prefix + pauseKey }
            : new RedisKey[] { _prefix + bucketKey, _prefix + pauseKey, _prefix + blockKey };
        var answer = (RedisResult[]?)await db.ScriptEvaluateAsync(TakeTokenScript, keys, [nowMs, ratePerSecond, burst]).ConfigureAwait(false)
            ?? throw new InvalidOperationException("the token script answered nothing");
        var (wait, blocked) = ((long)answer[0], (long)answer[1]);
        return wait < 0 ? new PushTokenAnswer(-wait, Paused: true) : new PushTokenAnswer(wait, Paused: false, BlockedUntilMs: blocked);
    }

    public async ValueTask PauseAsync(string pauseKey, long untilMs, TimeSpan timeToLive, CancellationToken cancellationToken = default)
    {
        var db = await DatabaseAsync().ConfigureAwait(false);
        await db.ScriptEvaluateAsync(PauseScript, [_prefix + pauseKey], [untilMs, Math.Max(1, (long)timeToLive.TotalMilliseconds)]).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully)
        {
            await _connection.Value.Result.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<IDatabase> DatabaseAsync() => (await _connection.Value.ConfigureAwait(false)).GetDatabase();
}
