using System.Globalization;
using Parley.Push;
using StackExchange.Redis;

namespace Parley.Hosting.Push;

/// <summary>
/// The push pipeline's counters in Redis (ADR 0014 §6), for <c>Parley:Cluster:Mode=Redis</c>: the vendor quotas per app
/// and device per day, the marketing cap per user per day and the template bandit's counts are then one set for the
/// whole cluster, so two nodes together grant a vendor quota once. Each increment is one Lua call on one key (INCRBY or
/// HINCRBY, then PEXPIRE: atomic, and valid on a Redis Cluster since a script touches one key); several keys go in one
/// pipelined batch (one round trip). Keys are <c>{prefix}{key}</c>, the prefix being the Orleans service id, so
/// deployments sharing a Redis stay apart. The connection is made on first use and re-established by the client.
/// </summary>
public sealed class RedisPushCounters : IPushCounters, IAsyncDisposable
{
    private const string IncrementScript = "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) redis.call('PEXPIRE', KEYS[1], ARGV[2]) return v";
    private const string HashIncrementScript =
        "for i = 1, #ARGV - 1, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end redis.call('PEXPIRE', KEYS[1], ARGV[#ARGV]) return 1";

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

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully)
        {
            await _connection.Value.Result.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<IDatabase> DatabaseAsync() => (await _connection.Value.ConfigureAwait(false)).GetDatabase();
}
