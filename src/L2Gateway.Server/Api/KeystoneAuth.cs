using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using L2Gateway.Core;

namespace L2Gateway.Server.Api;

/// <summary>
/// <c>auth_strategy = keystone</c>: validates each request's <c>X-Auth-Token</c> against Keystone v3
/// (<c>GET /v3/auth/tokens</c> with the token as its own subject, which Keystone's default policy allows, so the
/// server needs no service credentials) and caches the answer until the token expires, at most five minutes.
/// </summary>
public sealed class KeystoneAuth(Uri keystoneUrl, TimeProvider? clock = null) : IDisposable
{
    private static readonly TimeSpan MaxCache = TimeSpan.FromMinutes(5);

    private readonly HttpClient http = new() { BaseAddress = keystoneUrl, Timeout = TimeSpan.FromSeconds(10) };
    private readonly ConcurrentDictionary<string, (RequestContext Context, DateTimeOffset Until)> cache = new(StringComparer.Ordinal);
    private readonly TimeProvider time = clock ?? TimeProvider.System;

    public async Task<RequestContext> AuthenticateAsync(string? token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token))
        {
            throw Unauthorized();
        }

        var now = time.GetUtcNow();
        if (cache.TryGetValue(token, out var hit) && hit.Until > now)
        {
            return hit.Context;
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
                cache.TryRemove(token, out _);
                throw Unauthorized();
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new L2GatewayException(ErrorKind.ServiceUnavailable, "HTTPServiceUnavailable", $"The identity service answered {(int)response.StatusCode}");
            }

            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            if (!body.RootElement.TryGetProperty("token", out var t) || t.ValueKind != JsonValueKind.Object)
            {
                throw new L2GatewayException(ErrorKind.ServiceUnavailable, "HTTPServiceUnavailable", "The identity service answered without a token");
            }

            var roles = t.TryGetProperty("roles", out var r) && r.ValueKind == JsonValueKind.Array
                ? r.EnumerateArray().Select(x => x.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "").Where(n => n.Length > 0).ToList()
                : [];
            var project = t.TryGetProperty("project", out var p) && p.TryGetProperty("id", out var pid) ? pid.GetString() ?? "" : "";
            var user = t.TryGetProperty("user", out var u) && u.TryGetProperty("id", out var uid) ? uid.GetString() ?? "" : "";
            var until = now + MaxCache;
            if (t.TryGetProperty("expires_at", out var e) && DateTimeOffset.TryParse(e.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expires))
            {
                if (expires <= now)
                {
                    throw Unauthorized();
                }

                until = expires < until ? expires : until;
            }

            var context = new RequestContext(project, roles, user);
            cache[token] = (context, until);
            return context;
        }
    }

    private static L2GatewayException Unauthorized() =>
        new(ErrorKind.Unauthorized, "HTTPUnauthorized", "The request you have made requires authentication.");

    public void Dispose() => http.Dispose();
}
