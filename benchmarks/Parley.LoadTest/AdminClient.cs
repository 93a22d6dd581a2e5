using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Parley.LoadTest;

/// <summary>The admin HTTP API (users, tokens, groups). Tokens are kept in memory only and never printed.</summary>
internal sealed class AdminClient : IDisposable
{
    private readonly HttpClient _http;

    public AdminClient(TargetProcess target)
    {
        _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = target.BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", target.AdminSecret);
    }

    /// <summary>Creates users <c>{prefix}{i}</c> for i in [0, count) and issues tokens for the first <paramref name="withTokens"/>.</summary>
    public async Task<string[]> CreateUsersAsync(string prefix, int count, int withTokens, int concurrency = 32)
    {
        var tokens = new string[withTokens];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
        {
            var userId = prefix + i;
            using (var created = await _http.PostAsJsonAsync("admin/v1/users", new { userId, nickname = "lt " + i }, ct).ConfigureAwait(false))
            {
                if (created.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.OK or HttpStatusCode.Conflict))
                {
                    throw new InvalidOperationException($"create user failed: {(int)created.StatusCode}");
                }
            }

            if (i < withTokens)
            {
                using var issued = await _http.PostAsJsonAsync($"admin/v1/users/{userId}/tokens", new { deviceId = "lt-" + i, platform = "linux" }, ct).ConfigureAwait(false);
                if (!issued.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"issue token failed: {(int)issued.StatusCode}");
                }

                using var doc = await JsonDocument.ParseAsync(await issued.Content.ReadAsStreamAsync(ct).ConfigureAwait(false), cancellationToken: ct).ConfigureAwait(false);
                tokens[i] = doc.RootElement.GetProperty("token").GetString() ?? throw new InvalidOperationException("no token");
            }
        }).ConfigureAwait(false);
        return tokens;
    }

    /// <summary>Issues tokens for existing users <c>{prefix}{i}</c>, i in [0, count) (device <c>lt-{i}</c>, as <see cref="CreateUsersAsync"/>).</summary>
    public async Task<string[]> IssueTokensAsync(string prefix, int count, int concurrency = 32)
    {
        var tokens = new string[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (i, ct) =>
        {
            using var issued = await _http.PostAsJsonAsync("admin/v1/users/" + prefix + i + "/tokens", new { deviceId = "lt-" + i, platform = "linux" }, ct).ConfigureAwait(false);
            if (!issued.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"issue token failed: {(int)issued.StatusCode}");
            }

            using var doc = await JsonDocument.ParseAsync(await issued.Content.ReadAsStreamAsync(ct).ConfigureAwait(false), cancellationToken: ct).ConfigureAwait(false);
            tokens[i] = doc.RootElement.GetProperty("token").GetString() ?? throw new InvalidOperationException("no token");
        }).ConfigureAwait(false);
        return tokens;
    }

    /// <summary>Most member ids one create or add request may name (the admin API refuses more).</summary>
    public const int MaxIdsPerRequest = 500;

    /// <summary>
    /// Creates group <paramref name="groupId"/> owned by the first member; returns its conversation id. A group of more
    /// members than one request may name is created with the first of them and the rest added in requests of that size.
    /// </summary>
    public async Task<string> CreateGroupAsync(string groupId, IReadOnlyList<string> members)
    {
        var rest = members.Skip(1).ToArray();
        var body = new { groupId, name = "load " + groupId, ownerId = members[0], memberIds = rest.Take(MaxIdsPerRequest).ToArray() };
        using (var response = await _http.PostAsJsonAsync("admin/v1/groups", body).ConfigureAwait(false))
        {
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                throw new InvalidOperationException($"create group failed: {(int)response.StatusCode} {text}");
            }
        }

        foreach (var chunk in rest.Skip(MaxIdsPerRequest).Chunk(MaxIdsPerRequest))
        {
            using var added = await _http.PostAsJsonAsync($"admin/v1/groups/{groupId}/members", new { userIds = chunk }).ConfigureAwait(false);
            if (!added.IsSuccessStatusCode)
            {
                var text = await added.Content.ReadAsStringAsync().ConfigureAwait(false);
                throw new InvalidOperationException($"add members failed: {(int)added.StatusCode} {text}");
            }
        }

        return "sg_" + groupId;
    }

    public async Task<string> MetricsAsync()
    {
        try
        {
            return await _http.GetStringAsync(new Uri("metrics", UriKind.Relative)).ConfigureAwait(false);
        }
        catch (HttpRequestException)
        {
            return string.Empty;
        }
    }

    public void Dispose() => _http.Dispose();
}
