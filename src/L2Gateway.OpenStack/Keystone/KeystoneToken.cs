using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace L2Gateway.OpenStack.Keystone;

/// <summary>
/// A service user's password credentials, as OpenStack services read them from <c>[keystone_authtoken]</c>
/// (<c>auth_url</c>, <c>username</c>, <c>password</c>, <c>project_name</c>, <c>user_domain_name</c>,
/// <c>project_domain_name</c>).
/// </summary>
public sealed record KeystoneCredentials(
    Uri AuthUrl, string Username, string Password, string ProjectName, string UserDomainName = "Default", string ProjectDomainName = "Default")
{
    private static readonly string[] RequiredKeys = ["auth_url", "username", "password", "project_name"];

    /// <summary>Reads the credentials from an INI file's <c>keystone_authtoken:*</c> keys; null when it names no user.</summary>
    public static KeystoneCredentials? FromIni(IReadOnlyDictionary<string, string> ini)
    {
        ArgumentNullException.ThrowIfNull(ini);
        string? Get(string key) => ini.TryGetValue("keystone_authtoken:" + key, out var v) && v.Length > 0 ? v : null;
        if (Get("username") is null && Get("password") is null)
        {
            return null;
        }

        if (Get("auth_type") is { } type && !type.Equals("password", StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"invalid keystone_authtoken.auth_type '{type}': only password is supported");
        }

        var missing = RequiredKeys.Where(k => Get(k) is null).ToList();
        if (missing.Count > 0)
        {
            throw new FormatException($"[keystone_authtoken] needs {string.Join(", ", missing)} for the service user's password credentials");
        }

        var url = Get("auth_url")!;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var authUrl) || authUrl.Scheme is not ("http" or "https"))
        {
            throw new FormatException($"invalid keystone_authtoken.auth_url '{url}'");
        }

        return new KeystoneCredentials(
            authUrl, Get("username")!, Get("password")!, Get("project_name")!, Get("user_domain_name") ?? "Default", Get("project_domain_name") ?? "Default");
    }

    public override string ToString() => $"{Username}@{ProjectName} via {AuthUrl}";
}

/// <summary>
/// A project-scoped Keystone token for the agent's calls to the server: fetched on first use, renewed before it
/// expires (when less than half its lifetime or five minutes remain, whichever is less), and dropped when the
/// server refuses it so that the next call fetches a new one.
/// </summary>
public sealed class KeystoneTokenSource : IDisposable
{
    private static readonly TimeSpan MaxRenewBefore = TimeSpan.FromMinutes(5);
    private static readonly string[] PasswordMethod = ["password"];

    private readonly KeystoneCredentials credentials;
    private readonly HttpClient http;
    private readonly TimeProvider time;
    private readonly SemaphoreSlim fetching = new(1, 1);
    private HeldToken? current;
    private ServiceCatalog catalog = ServiceCatalog.Empty;

    public KeystoneTokenSource(KeystoneCredentials credentials, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        this.credentials = credentials;
        this.time = time ?? TimeProvider.System;
        var root = credentials.AuthUrl.AbsolutePath.TrimEnd('/');
        root = root.EndsWith("/v3", StringComparison.OrdinalIgnoreCase) ? root[..^3] : root;
        http = new HttpClient { BaseAddress = new UriBuilder(credentials.AuthUrl) { Path = root + "/" }.Uri, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>How many tokens this source has fetched from Keystone.</summary>
    public int Issued { get; private set; }

    /// <summary>The token to send now, fetching or renewing it first when needed.</summary>
    public async ValueTask<string> GetAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref current) is { } held && time.GetUtcNow() < held.RenewAt)
        {
            return held.Token;
        }

        await fetching.WaitAsync(cancellationToken);
        try
        {
            if (current is { } again && time.GetUtcNow() < again.RenewAt)
            {
                return again.Token;
            }

            var (token, issued, expires, catalog) = await IssueAsync(cancellationToken);
            var lifetime = expires - issued;
            var renewBefore = lifetime / 2 < MaxRenewBefore ? lifetime / 2 : MaxRenewBefore;
            Volatile.Write(ref current, new HeldToken(token, time.GetUtcNow() + lifetime - renewBefore));
            Volatile.Write(ref this.catalog, catalog);
            Issued++;
            return token;
        }
        finally
        {
            fetching.Release();
        }
    }

    /// <summary>The service catalog of the current token, fetching a token first when none is held.</summary>
    public async ValueTask<ServiceCatalog> GetCatalogAsync(CancellationToken cancellationToken)
    {
        await GetAsync(cancellationToken);
        return Volatile.Read(ref catalog);
    }

    /// <summary>Forgets <paramref name="token"/> if it is still the current one (the server refused it).</summary>
    public void Invalidate(string token)
    {
        if (Volatile.Read(ref current) is { } held && held.Token == token)
        {
            Interlocked.CompareExchange(ref current, null, held);
        }
    }

    private async Task<(string Token, DateTimeOffset Issued, DateTimeOffset Expires, ServiceCatalog Catalog)> IssueAsync(CancellationToken cancellationToken)
    {
        var body = JsonSerializer.Serialize(new
        {
            auth = new
            {
                identity = new
                {
                    methods = PasswordMethod,
                    password = new { user = new { name = credentials.Username, domain = new { name = credentials.UserDomainName }, password = credentials.Password } },
                },
                scope = new { project = new { name = credentials.ProjectName, domain = new { name = credentials.ProjectDomainName } } },
            },
        });
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri("v3/auth/tokens", UriKind.Relative), content, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            throw new HttpRequestException($"Keystone refused the agent's credentials ({credentials})", null, response.StatusCode);
        }

        response.EnsureSuccessStatusCode();
        var token = response.Headers.TryGetValues("X-Subject-Token", out var values) ? values.FirstOrDefault() : null;
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        var t = json.RootElement.GetProperty("token");
        if (string.IsNullOrEmpty(token) || !TryTime(t, "expires_at", out var expires))
        {
            throw new HttpRequestException("Keystone answered without a token or its expiry");
        }

        return (token, TryTime(t, "issued_at", out var issued) ? issued : time.GetUtcNow(), expires, ServiceCatalog.Parse(t));
    }

    private static bool TryTime(JsonElement token, string name, out DateTimeOffset value)
    {
        value = default;
        return token.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String
            && DateTimeOffset.TryParse(e.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value);
    }

    public void Dispose()
    {
        http.Dispose();
        fetching.Dispose();
    }

    private sealed record HeldToken(string Token, DateTimeOffset RenewAt);
}

/// <summary>Puts the service token on each request and, when the server answers 401, fetches a new one and retries once.</summary>
public sealed class KeystoneAuthHandler(KeystoneTokenSource tokens) : DelegatingHandler(new SocketsHttpHandler())
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await tokens.GetAsync(cancellationToken);
        request.Headers.Remove("X-Auth-Token");
        request.Headers.Add("X-Auth-Token", token);
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        // The request's content is a buffered string, so it can go again.
        response.Dispose();
        tokens.Invalidate(token);
        request.Headers.Remove("X-Auth-Token");
        request.Headers.Add("X-Auth-Token", await tokens.GetAsync(cancellationToken));
        return await base.SendAsync(request, cancellationToken);
    }
}
