using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Parley.Core.Auth;
using Parley.Storage.Sqlite;

namespace Parley.IntegrationTests;

/// <summary>
/// Stop 39: a token's signature is checked with a keyed HMAC kept per thread (not a one-shot HMAC per connect). Two
/// services with different keys in one process, on many threads at once: each validates exactly its own tokens, whatever
/// the thread last checked; a tampered token and the other key's tokens are malformed. Real SQLite account store on a temp file.
/// </summary>
public sealed class TokenHmacTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "parley-tokenhmac-" + Guid.NewGuid().ToString("N"));
    private SqliteDatabase _database = null!;
    private SqliteAccountStore _accounts = null!;

    public async Task InitializeAsync()
    {
        _database = new SqliteDatabase(new SqliteStoreOptions { DataSource = Path.Combine(_directory, "parley.db") });
        _accounts = new SqliteAccountStore(_database);
        await _accounts.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Validate_TwoKeysOnManyThreads_EachServiceAcceptsExactlyItsOwnTokens()
    {
        var keys = new[] { RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(48) };
        var services = keys.Select(k => new TokenService(_accounts, new TokenSigningKey(k), Options.Create(new TokenOptions()), TimeProvider.System)).ToArray();
        var tokens = new List<(int Service, string Token)>();
        for (var i = 0; i < 40; i++)
        {
            var (token, _) = await services[i % 2].IssueAsync($"u{i}", $"d{i}", 1, null);
            tokens.Add((i % 2, token));

            // What the one-shot HMAC of the signed part gives (the issuer's way) is the signature.
            var dot = token.LastIndexOf('.');
            Assert.Equal(Convert.ToBase64String(HMACSHA256.HashData(keys[i % 2], Encoding.ASCII.GetBytes(token[..dot]))).TrimEnd('=').Replace('+', '-').Replace('/', '_'), token[(dot + 1)..]);
        }

        var checks = 0;
        await Parallel.ForAsync(0, 4000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (n, ct) =>
        {
            var (owner, token) = tokens[(n * 7) % tokens.Count];
            var service = (n / 3) % 2;
            var candidate = n % 5 == 0 ? Tamper(token, n) : token;
            var (status, identity) = await services[service].ValidateAsync(candidate, ct);
            var expected = service == owner && candidate == token ? TokenStatus.Valid : TokenStatus.Malformed;
            Assert.True(status == expected, $"check {n}: service {service}, token of {owner}{(candidate == token ? "" : ", tampered")}: {status}");
            Assert.Equal(expected == TokenStatus.Valid, identity is not null);
            Interlocked.Increment(ref checks);
        });

        Assert.Equal(4000, checks);
    }

    // One character of the payload changed to another of the base64url alphabet.
    private static string Tamper(string token, int n)
    {
        var chars = token.ToCharArray();
        var at = 4 + (n % 10);
        chars[at] = chars[at] == 'A' ? 'B' : 'A';
        return new string(chars);
    }
}
