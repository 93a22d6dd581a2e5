using System.Security.Cryptography;
using System.Text;
using Parley.Push.Internal;

namespace Parley.Push.Vendors.Apns;

/// <summary>
/// Mints and caches the APNs provider token (ES256 JWT). Reused for <see cref="ApnsOptions.TokenRefreshInterval"/>;
/// a forced refresh (after ExpiredProviderToken) is refused within <see cref="ApnsOptions.TokenMinRefreshInterval"/> of
/// the last one, because Apple answers frequent refreshes with TooManyProviderTokenUpdates.
/// </summary>
internal sealed class ApnsJwtSigner : IDisposable
{
    private readonly ApnsOptions _options;
    private readonly TimeProvider _time;
    private readonly ECDsa _key;
    private readonly Lock _lock = new();
    private string? _token;
    private DateTimeOffset _issuedAt;

    public ApnsJwtSigner(ApnsOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _key = ECDsa.Create();
        _key.ImportFromPem(options.PrivateKeyPem);
    }

    public int Minted { get; private set; }

    public string Current(out bool minted)
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            minted = false;
            if (_token is null || now - _issuedAt >= _options.TokenRefreshInterval)
            {
                Mint(now);
                minted = true;
            }

            return _token!;
        }
    }

    /// <summary>Forces a new token unless the current one is younger than the minimum refresh interval.</summary>
    public bool TryForceRefresh()
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (_token is not null && now - _issuedAt < _options.TokenMinRefreshInterval)
            {
                return false;
            }

            Mint(now);
            return true;
        }
    }

    private void Mint(DateTimeOffset now)
    {
        var header = PushIds.Base64Url(Encoding.UTF8.GetBytes($$"""{"alg":"ES256","kid":"{{_options.KeyId}}"}"""));
        var claims = PushIds.Base64Url(Encoding.UTF8.GetBytes($$"""{"iss":"{{_options.TeamId}}","iat":{{now.ToUnixTimeSeconds()}}}"""));
        var signingInput = header + "." + claims;
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        _token = signingInput + "." + PushIds.Base64Url(signature);
        _issuedAt = now;
        Minted++;
    }

    public void Dispose() => _key.Dispose();
}
