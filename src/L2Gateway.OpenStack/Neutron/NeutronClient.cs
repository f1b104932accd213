using System.Net;
using System.Text;
using System.Text.Json;
using L2Gateway.OpenStack.Keystone;

namespace L2Gateway.OpenStack.Neutron;

/// <summary>Neutron could not be asked or answered with an error; the message says which, for the operator.</summary>
public sealed class NeutronException : Exception
{
    public NeutronException()
    {
    }

    public NeutronException(string message)
        : base(message)
    {
    }

    public NeutronException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public NeutronException(string message, HttpStatusCode? status)
        : base(message) => Status = status;

    /// <summary>Neutron's status code, or null when no answer came.</summary>
    public HttpStatusCode? Status { get; }
}

/// <summary>
/// What the product reads of Neutron's API (v2.0): networks, ports and agents, every page of them (<c>limit</c>,
/// <c>marker</c>), optionally only those changed since a time (<c>changed_since</c>, the <c>standard-attr-timestamp</c>
/// extension) or with given ids. Only the attributes the catalog uses are asked for (<c>fields=</c>).
/// </summary>
public sealed class NeutronClient : IDisposable
{
    private const int IdsPerRequest = 40;

    private static readonly string[] NetworkFields =
    [
        "id", "name", "project_id", "tenant_id", "admin_state_up", "shared", "description", "mtu", "provider:network_type",
        "provider:segmentation_id", "provider:physical_network", "segments", "created_at", "revision_number",
    ];

    private static readonly string[] PortFields =
    [
        "id", "name", "network_id", "project_id", "tenant_id", "mac_address", "fixed_ips", "allowed_address_pairs", "binding:host_id",
        "status", "device_owner", "device_id", "admin_state_up", "description", "created_at", "revision_number",
    ];

    private static readonly string[] AgentFields = ["id", "host", "binary", "configurations", "started_at", "alive"];

    private readonly HttpClient http;
    private readonly Func<CancellationToken, ValueTask<Uri>> resolveEndpoint;
    private Uri? endpoint;

    /// <param name="handler">Sends the requests (with the service token: <see cref="KeystoneAuthHandler"/>); disposed with this client.</param>
    /// <param name="resolveEndpoint">Neutron's base URL, asked once (until it succeeds).</param>
    public NeutronClient(HttpMessageHandler handler, Func<CancellationToken, ValueTask<Uri>> resolveEndpoint, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(resolveEndpoint);
        http = new HttpClient(handler, disposeHandler: true) { Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        this.resolveEndpoint = resolveEndpoint;
    }

    /// <summary>
    /// A client acting as the service user of <paramref name="tokens"/>, at <paramref name="url"/> or, when null, at the
    /// <c>network</c> endpoint (interface <c>internal</c>, in <paramref name="region"/>) of the token's catalog.
    /// </summary>
    public static NeutronClient ForServiceUser(KeystoneTokenSource tokens, Uri? url, string? region)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return new NeutronClient(
            new KeystoneAuthHandler(tokens),
            url is not null ? _ => ValueTask.FromResult(url) : async ct => (await tokens.GetCatalogAsync(ct)).Find("network", "internal", region));
    }

    /// <summary>Items per page asked of Neutron.</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>Neutron's base URL once resolved, else null.</summary>
    public Uri? Endpoint => Volatile.Read(ref endpoint);

    /// <summary>Networks: all, or those changed at or after <paramref name="changedSince"/>, or those of <paramref name="ids"/>.</summary>
    public Task<NeutronList<NeutronNetwork>> ListNetworksAsync(
        DateTimeOffset? changedSince = null, IReadOnlyCollection<string>? ids = null, CancellationToken cancellationToken = default) =>
        ListAsync("networks", NetworkFields, Filters(changedSince, ids, null), NeutronJson.ParseNetwork, n => n.Id, ids, cancellationToken);

    /// <summary>Ports: all, or those changed at or after <paramref name="changedSince"/>, of <paramref name="ids"/>, or of one network.</summary>
    public Task<NeutronList<NeutronPort>> ListPortsAsync(
        DateTimeOffset? changedSince = null, IReadOnlyCollection<string>? ids = null, string? networkId = null, CancellationToken cancellationToken = default) =>
        ListAsync("ports", PortFields, Filters(changedSince, ids, networkId), NeutronJson.ParsePort, p => p.Id, ids, cancellationToken);

    /// <summary>The agents of one binary (agents have no <c>changed_since</c>: Neutron refuses it on them).</summary>
    public Task<NeutronList<NeutronAgent>> ListAgentsAsync(string binary = NeutronAgent.OpenvswitchBinary, CancellationToken cancellationToken = default) =>
        ListAsync("agents", AgentFields, [("binary", binary)], NeutronJson.ParseAgent, a => a.Id, null, cancellationToken);

    public async Task<NeutronNetwork?> GetNetworkAsync(string id, CancellationToken cancellationToken = default) =>
        (await ListNetworksAsync(null, [id], cancellationToken)).Items.FirstOrDefault(n => n.Id == id);

    private static List<(string, string)> Filters(DateTimeOffset? changedSince, IReadOnlyCollection<string>? ids, string? networkId)
    {
        var filters = new List<(string, string)>();
        if (changedSince is { } since)
        {
            filters.Add(("changed_since", NeutronJson.FormatTime(since)));
        }

        if (networkId is not null)
        {
            filters.Add(("network_id", networkId));
        }

        return filters;
    }

    private async Task<NeutronList<T>> ListAsync<T>(
        string collection,
        string[] fields,
        List<(string Key, string Value)> filters,
        Func<JsonElement, T> parse,
        Func<T, string> idOf,
        IReadOnlyCollection<string>? ids,
        CancellationToken cancellationToken)
    {
        if (ids is null)
        {
            return await ListPagesAsync(collection, fields, filters, parse, idOf, cancellationToken);
        }

        // Ids go in the query (?id=A&id=B): a few dozen per request keeps the URL short.
        var items = new List<T>();
        DateTimeOffset? serverTime = null;
        foreach (var chunk in ids.Distinct(StringComparer.Ordinal).Chunk(IdsPerRequest))
        {
            var page = await ListPagesAsync(collection, fields, [.. filters, .. chunk.Select(id => ("id", id))], parse, idOf, cancellationToken);
            items.AddRange(page.Items);
            serverTime ??= page.ServerTime;
        }

        return new NeutronList<T>(items, serverTime);
    }

    private async Task<NeutronList<T>> ListPagesAsync<T>(
        string collection,
        string[] fields,
        List<(string Key, string Value)> filters,
        Func<JsonElement, T> parse,
        Func<T, string> idOf,
        CancellationToken cancellationToken)
    {
        var items = new List<T>();
        DateTimeOffset? serverTime = null;
        string? marker = null;
        while (true)
        {
            var query = new StringBuilder(collection).Append("?limit=").Append(PageSize);
            foreach (var (key, value) in filters.Concat(fields.Select(f => ("fields", f))))
            {
                query.Append('&').Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value));
            }

            if (marker is not null)
            {
                query.Append("&marker=").Append(Uri.EscapeDataString(marker));
            }

            var (json, date) = await GetAsync(query.ToString(), cancellationToken);
            serverTime ??= date;
            List<T> page;
            bool hasNext;
            try
            {
                (page, hasNext) = NeutronJson.ParsePage(json.RootElement, collection, parse);
            }
            catch (FormatException e)
            {
                throw new NeutronException($"Neutron's answer to GET /v2.0/{collection} is not understood: {e.Message}", e);
            }
            finally
            {
                json.Dispose();
            }

            items.AddRange(page);
            if (!hasNext || page.Count == 0)
            {
                return new NeutronList<T>(items, serverTime);
            }

            marker = idOf(page[^1]);
        }
    }

    private async Task<(JsonDocument Json, DateTimeOffset? Date)> GetAsync(string relative, CancellationToken cancellationToken)
    {
        var baseUrl = await EndpointAsync(cancellationToken);
        var url = new Uri(baseUrl, "v2.0/" + relative);
        try
        {
            using var response = await http.GetAsync(url, HttpCompletionOption.ResponseContentRead, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var message = NeutronJson.ErrorMessage(body) ?? body[..Math.Min(body.Length, 200)];
                throw new NeutronException($"Neutron answered {(int)response.StatusCode} to GET {url.AbsolutePath}: {message}", response.StatusCode);
            }

            return (JsonDocument.Parse(body), response.Headers.Date);
        }
        catch (HttpRequestException e)
        {
            throw new NeutronException($"GET {url} failed: {e.Message}", e);
        }
        catch (JsonException e)
        {
            throw new NeutronException($"Neutron's answer to GET {url.AbsolutePath} is not JSON: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NeutronException($"Neutron at {baseUrl} did not answer within {http.Timeout.TotalSeconds:F0} s", e);
        }
    }

    private async ValueTask<Uri> EndpointAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref endpoint) is { } known)
        {
            return known;
        }

        Uri url;
        try
        {
            url = await resolveEndpoint(cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or KeyNotFoundException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new NeutronException($"cannot find Neutron's endpoint: {e.Message}", e);
        }

        // Requests go to BASE/v2.0/...: a catalog URL may end in /v2.0 already, and a base without a trailing slash
        // would lose its last segment in new Uri(base, "v2.0/...").
        var path = url.AbsolutePath.TrimEnd('/');
        path = path.EndsWith("/v2.0", StringComparison.Ordinal) ? path[..^5] : path;
        var withSlash = new UriBuilder(url) { Path = path + "/", Query = "" }.Uri;
        Volatile.Write(ref endpoint, withSlash);
        return withSlash;
    }

    public void Dispose() => http.Dispose();
}
