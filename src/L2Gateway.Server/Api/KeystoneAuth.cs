using System.Globalization;
using System.Net;
using System.Text.Json;
using L2Gateway.Core;
using Microsoft.Extensions.Caching.Memory;

namespace L2Gateway.Server.Api;

/// <summary>
/// <c>auth_strategy = keystone</c>: validates each request's <c>X-Auth-Token</c> against Keystone v3
/// (<c>GET /v3/auth/tokens</c> with the token as its own subject, which Keystone's default policy allows through its
/// <c>token_subject</c> rule, so the server needs no service credentials) and caches the answer, as
/// keystonemiddleware does, for <c>token_cache_time</c> or until the token expires, whichever comes first. A token
/// revoked in Keystone is therefore refused at most <c>token_cache_time</c> later. The cache holds at most
/// <see cref="MaxCachedTokens"/> tokens by default; past that new entries wait for a compaction that evicts the oldest.
/// </summary>
public sealed class KeystoneAuth : IDisposable
{
    public const int MaxCachedTokens = 10_000;

    private readonly HttpClient http;
    private readonly MemoryCache cache;
    private readonly TimeSpan cacheTime;
    private readonly TimeProvider time;

    /// <param name="keystoneUrl">Keystone's endpoint, with or without the <c>/v3</c> suffix.</param>
    /// <param name="cacheTime">How long a validated token is trusted without asking again; zero or less: never cached.</param>
    /// <param name="clock">The time tokens' expiry and cache entries are measured by.</param>
    /// <param name="maxCachedTokens">The cache's bound; past it the oldest entries are evicted.</param>
    public KeystoneAuth(Uri keystoneUrl, TimeSpan cacheTime, TimeProvider? clock = null, int maxCachedTokens = MaxCachedTokens)
    {
        ArgumentNullException.ThrowIfNull(keystoneUrl);
        cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = maxCachedTokens, CompactionPercentage = 0.25 });
        http = new HttpClient { BaseAddress = IdentityRoot(keystoneUrl), Timeout = TimeSpan.FromSeconds(10) };
        this.cacheTime = cacheTime;
        time = clock ?? TimeProvider.System;
    }

    /// <summary>
    /// The root under which <c>v3/...</c> resolves: keystonemiddleware accepts <c>http://host:5000</c>,
    /// <c>http://host:5000/</c> and <c>http://host:5000/v3</c> alike, and so does this.
    /// </summary>
    public static Uri IdentityRoot(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var path = url.AbsolutePath.TrimEnd('/');
        foreach (var version in (string[])["/v3", "/v2.0"])
        {
            if (path.EndsWith(version, StringComparison.OrdinalIgnoreCase))
            {
                path = path[..^version.Length];
            }
        }

        return new UriBuilder(url) { Path = path + "/", Query = "", Fragment = "" }.Uri;
    }

    public int CachedTokens => (int)cache.Count;

    public async Task<RequestContext> AuthenticateAsync(string? token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token))
        {
            throw Unauthorized();
        }

        var now = time.GetUtcNow();
        if (cache.TryGetValue(token, out (RequestContext Context, DateTimeOffset Until) hit))
        {
            if (hit.Until > now)
            {
                return hit.Context;
            }

            cache.Remove(token);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "v3/auth/tokens");
        request.Headers.Add("X-Auth-Token", token);
        request.Headers.Add("X-Subject-Token", token);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            throw new L2GatewayException(ErrorKind.ServiceUnavailable, "HTTPServiceUnavailable", "The identity service is unreachable: " + e.Message);
        }

        using (response)
        {
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                throw Unauthorized();
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new L2GatewayException(ErrorKind.ServiceUnavailable, "HTTPServiceUnavailable", $"The identity service answered {(int)response.StatusCode}");
            }

            var (context, expires) = ParseToken(await response.Content.ReadAsStringAsync(cancellationToken));
            if (expires is { } e && e <= now)
            {
                throw Unauthorized();
            }

            var until = now + cacheTime;
            if (expires is { } end && end < until)
            {
                until = end;
            }

            if (until > now)
            {
                cache.Set(token, (context, until), new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = until - now });
            }

            return context;
        }
    }

    private static (RequestContext Context, DateTimeOffset? Expires) ParseToken(string json)
    {
        using var body = JsonDocument.Parse(json);
        if (!body.RootElement.TryGetProperty("token", out var t) || t.ValueKind != JsonValueKind.Object)
        {
            throw new L2GatewayException(ErrorKind.ServiceUnavailable, "HTTPServiceUnavailable", "The identity service answered without a token");
        }

        var roles = t.TryGetProperty("roles", out var r) && r.ValueKind == JsonValueKind.Array
            ? r.EnumerateArray().Select(x => x.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "").Where(n => n.Length > 0).ToList()
            : [];
        var project = t.TryGetProperty("project", out var p) && p.TryGetProperty("id", out var pid) ? pid.GetString() ?? "" : "";
        var user = t.TryGetProperty("user", out var u) && u.TryGetProperty("id", out var uid) ? uid.GetString() ?? "" : "";
        DateTimeOffset? expires = t.TryGetProperty("expires_at", out var e)
            && DateTimeOffset.TryParse(e.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;
        return (new RequestContext(project, roles, user), expires);
    }

    private static L2GatewayException Unauthorized() =>
        new(ErrorKind.Unauthorized, "HTTPUnauthorized", "The request you have made requires authentication.");

    public void Dispose()
    {
        http.Dispose();
        cache.Dispose();
    }
}
