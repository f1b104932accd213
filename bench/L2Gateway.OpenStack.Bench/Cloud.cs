using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using L2Gateway.Testing;

namespace L2Gateway.OpenStack.Bench;

/// <summary>
/// The lab's coordinates and credentials as the tests read them (<c>tests/Shared/OpenStackLab.cs</c>, from $OSV_DIR,
/// /tmp/osvtep by default), plus the service user's password from the lab's neutron.conf.
/// </summary>
internal sealed class Lab
{
    private readonly Dictionary<string, string> admin = OpenStackLab.Credentials("admin");

    private Lab(string servicePassword) => ServicePassword = servicePassword;

    public string Dir => OpenStackLab.Directory;

    /// <summary>Keystone's public endpoint with <c>/v3</c>.</summary>
    public string Keystone => OpenStackLab.KeystoneUrl.ToString().TrimEnd('/');

    public string Neutron => OpenStackLab.NeutronUrl.ToString().TrimEnd('/');

    public string Rabbit => OpenStackLab.RabbitUrl;

    public string TorDatabase => OpenStackLab.TorDatabase;

    public string AgentHost => OpenStackLab.AgentHost;

    public string ComputeNamespace => OpenStackLab.Namespace("cmp");

    public string TunnelPortName => OpenStackLab.TorTunnelPort;

    public string AdminUser => admin["OS_USERNAME"];

    public string AdminPassword => admin["OS_PASSWORD"];

    public string AdminProject => admin["OS_PROJECT_NAME"];

    /// <summary>Neutron's service user (<c>[keystone_authtoken]</c> of the lab's neutron.conf): the product's service user here.</summary>
    public string ServiceUser => "neutron";

    public string ServicePassword { get; }

    public string ServiceProject => "service";

    public static string PostgresPort => Environment.GetEnvironmentVariable("OSV_PG_PORT") is { Length: > 0 } p ? p : "55450";

    public string LabScripts { get; } = SourceTree.Testbed("openstack");

    public static Lab Read()
    {
        _ = OpenStackLab.KeystoneUrl; // fails with a clear message when the lab is not up
        var password = File.ReadAllLines(Path.Combine(OpenStackLab.Directory, "neutron", "neutron.conf"))
            .SkipWhile(l => l.Trim() != "[keystone_authtoken]").Skip(1).TakeWhile(l => !l.StartsWith('['))
            .Select(l => l.Split('=', 2)).First(kv => kv.Length == 2 && kv[0].Trim() == "password")[1].Trim();
        return new Lab(password);
    }
}

internal sealed record NeutronPort(string Id, string Mac);

/// <summary>Keystone and Neutron as the lab's admin: what the benchmarks create and delete.</summary>
internal sealed class Cloud : IAsyncDisposable
{
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromMinutes(10) };
    private readonly Lab lab;

    private Cloud(Lab lab, string token)
    {
        this.lab = lab;
        Token = token;
        http.DefaultRequestHeaders.Add("X-Auth-Token", token);
    }

    public string Token { get; }

    public static async Task<Cloud> ConnectAsync(Lab lab)
    {
        using var http = new HttpClient();
        var body = new JsonObject
        {
            ["auth"] = new JsonObject
            {
                ["identity"] = new JsonObject
                {
                    ["methods"] = new JsonArray("password"),
                    ["password"] = new JsonObject
                    {
                        ["user"] = new JsonObject { ["name"] = lab.AdminUser, ["domain"] = new JsonObject { ["name"] = "Default" }, ["password"] = lab.AdminPassword },
                    },
                },
                ["scope"] = new JsonObject { ["project"] = new JsonObject { ["name"] = lab.AdminProject, ["domain"] = new JsonObject { ["name"] = "Default" } } },
            },
        };
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var answer = await http.PostAsync(new Uri(lab.Keystone + "/auth/tokens"), content);
        if (answer.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"Keystone refused the admin's token: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
        }

        return new Cloud(lab, answer.Headers.GetValues("X-Subject-Token").First());
    }

    public Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpMethod method, string url, JsonNode? body = null) =>
        JsonExchange.SendAsync(http, method, new Uri(url), body);

    private async Task<JsonNode> ExpectAsync(HttpMethod method, string url, JsonNode? body, params HttpStatusCode[] ok)
    {
        var (status, answer) = await SendAsync(method, url, body);
        return ok.Contains(status)
            ? answer ?? new JsonObject()
            : throw new InvalidOperationException($"{method} {url}: {(int)status} {answer?.ToJsonString()}");
    }

    private string N(string path) => lab.Neutron + "/v2.0/" + path;

    public async Task<string> CreateProjectAsync(string name) =>
        (string)(await ExpectAsync(HttpMethod.Post, lab.Keystone + "/projects", new JsonObject
        {
            ["project"] = new JsonObject { ["name"] = name, ["domain_id"] = "default", ["description"] = "l2gw benchmark (bench/L2Gateway.OpenStack.Bench)" },
        }, HttpStatusCode.Created))["project"]!["id"]!;

    public Task DeleteProjectAsync(string id) => ExpectAsync(HttpMethod.Delete, lab.Keystone + "/projects/" + id, null, HttpStatusCode.NoContent, HttpStatusCode.NotFound);

    /// <summary>No port or network quota for the benchmark's own project (the lab's projects keep theirs).</summary>
    public Task UnlimitedQuotaAsync(string projectId) =>
        ExpectAsync(HttpMethod.Put, N("quotas/" + projectId), new JsonObject { ["quota"] = new JsonObject { ["port"] = -1, ["network"] = -1 } }, HttpStatusCode.OK);

    public Task DeleteQuotaAsync(string projectId) => ExpectAsync(HttpMethod.Delete, N("quotas/" + projectId), null, HttpStatusCode.NoContent, HttpStatusCode.NotFound);

    /// <summary>A VXLAN network with this VNI, or null when the VNI is taken.</summary>
    public async Task<string?> CreateNetworkAsync(string name, int vni, string projectId)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, N("networks"), new JsonObject
        {
            ["network"] = new JsonObject
            {
                ["name"] = name,
                ["project_id"] = projectId,
                ["provider:network_type"] = "vxlan",
                ["provider:segmentation_id"] = vni,
            },
        });
        return status switch
        {
            HttpStatusCode.Created => (string)body!["network"]!["id"]!,
            HttpStatusCode.Conflict => null,
            _ => throw new InvalidOperationException($"network create: {(int)status} {body?.ToJsonString()}"),
        };
    }

    public Task DeleteNetworkAsync(string id) => ExpectAsync(HttpMethod.Delete, N("networks/" + id), null, HttpStatusCode.NoContent, HttpStatusCode.NotFound);

    private static JsonObject PortBody(string networkId, string name, string host, string projectId) => new()
    {
        ["network_id"] = networkId,
        ["name"] = name,
        ["project_id"] = projectId,
        ["binding:host_id"] = host,
        ["device_owner"] = "compute:nova",
    };

    public async Task<NeutronPort> CreatePortAsync(string networkId, string name, string host, string projectId)
    {
        var port = (await ExpectAsync(HttpMethod.Post, N("ports"), new JsonObject { ["port"] = PortBody(networkId, name, host, projectId) }, HttpStatusCode.Created))["port"]!;
        return new NeutronPort((string)port["id"]!, (string)port["mac_address"]!);
    }

    /// <summary>Bulk create: one POST with <c>{"ports": [...]}</c>.</summary>
    public async Task<List<string>> CreatePortsAsync(IEnumerable<(string NetworkId, string Name)> ports, string host, string projectId)
    {
        var list = new JsonArray([.. ports.Select(p => (JsonNode)PortBody(p.NetworkId, p.Name, host, projectId))]);
        var created = await ExpectAsync(HttpMethod.Post, N("ports"), new JsonObject { ["ports"] = list }, HttpStatusCode.Created);
        return [.. created["ports"]!.AsArray().Select(p => (string)p!["id"]!)];
    }

    public Task DeletePortAsync(string id) => ExpectAsync(HttpMethod.Delete, N("ports/" + id), null, HttpStatusCode.NoContent, HttpStatusCode.NotFound);

    public Task DeletePortsAsync(IEnumerable<string> ids, int parallel = 8) =>
        Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (id, _) => await DeletePortAsync(id));

    public async Task WaitPortActiveAsync(string id, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var port = await ExpectAsync(HttpMethod.Get, N($"ports/{id}?fields=status"), null, HttpStatusCode.OK);
            var status = (string?)port["port"]?["status"];
            if (status == "ACTIVE")
            {
                return;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"port {id} is {status} after {timeout.TotalSeconds} s");
            }

            await Task.Delay(500);
        }
    }

    public async Task<int> CountPortsAsync() => (await ExpectAsync(HttpMethod.Get, N("ports?fields=id"), null, HttpStatusCode.OK))["ports"]!.AsArray().Count;

    /// <summary>
    /// The reference for the catalog's complete read: every port, read the way the product reads them (pages of 500 with
    /// <c>limit</c>/<c>marker</c>, the same <c>fields=</c>), by this process and nothing else. Returns the port count.
    /// </summary>
    public async Task<int> ReadAllPortsAsync()
    {
        string[] fields =
        [
            "id", "name", "network_id", "project_id", "tenant_id", "mac_address", "fixed_ips", "allowed_address_pairs", "binding:host_id",
            "status", "device_owner", "device_id", "admin_state_up", "description", "created_at", "revision_number",
        ];
        var query = string.Concat(fields.Select(f => "&fields=" + Uri.EscapeDataString(f)));
        var count = 0;
        string? marker = null;
        while (true)
        {
            var page = (await ExpectAsync(HttpMethod.Get, N("ports?limit=500" + query + (marker is null ? "" : "&marker=" + marker)), null, HttpStatusCode.OK))["ports"]!.AsArray();
            count += page.Count;
            if (page.Count < 500)
            {
                return count;
            }

            marker = (string)page[^1]!["id"]!;
        }
    }

    public async Task<List<string>> PortsOfNetworkAsync(string networkId) =>
        [.. (await ExpectAsync(HttpMethod.Get, N($"ports?network_id={networkId}&fields=id"), null, HttpStatusCode.OK))["ports"]!.AsArray().Select(p => (string)p!["id"]!)];

    /// <summary>Deletes the Neutron agent rows of a host (the embedded agent's report_state creates one).</summary>
    public async Task DeleteAgentsAsync(Func<string, bool> host)
    {
        var agents = await ExpectAsync(HttpMethod.Get, N("agents?fields=id&fields=host"), null, HttpStatusCode.OK);
        foreach (var agent in agents["agents"]!.AsArray())
        {
            if (host((string)agent!["host"]!))
            {
                await ExpectAsync(HttpMethod.Delete, N("agents/" + (string)agent["id"]!), null, HttpStatusCode.NoContent, HttpStatusCode.NotFound);
            }
        }
    }

    /// <summary>Deletes what an interrupted run left: networks (and their ports), projects, agents named l2gw-osbench-*.</summary>
    public async Task CleanupAsync(Lab lab)
    {
        var networks = await ExpectAsync(HttpMethod.Get, N("networks?fields=id&fields=name"), null, HttpStatusCode.OK);
        foreach (var network in networks["networks"]!.AsArray())
        {
            var name = (string?)network!["name"] ?? "";
            if (!name.StartsWith(Benchmarks.Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var id = (string)network["id"]!;
            await NeutronDatabase.DeleteCopiedPortsAsync(lab, [id], Benchmarks.Prefix);
            var ports = await PortsOfNetworkAsync(id);
            Console.WriteLine($"network {name} ({id}): deleting {ports.Count} ports");
            await DeletePortsAsync(ports);
            await DeleteNetworkAsync(id);
        }

        await DeleteAgentsAsync(h => h.StartsWith(Benchmarks.Prefix, StringComparison.Ordinal));
        var projects = await ExpectAsync(HttpMethod.Get, lab.Keystone + "/projects", null, HttpStatusCode.OK);
        foreach (var project in projects["projects"]!.AsArray())
        {
            if (((string?)project!["name"] ?? "").StartsWith(Benchmarks.Prefix, StringComparison.Ordinal))
            {
                Console.WriteLine($"project {(string)project["name"]!}: deleting");
                await DeleteQuotaAsync((string)project["id"]!);
                await DeleteProjectAsync((string)project["id"]!);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        http.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The product's own API (gateways and connections), with the admin's token.</summary>
internal sealed class Product(Uri root, string token) : IDisposable
{
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromMinutes(2) };

    private Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpMethod method, string path, JsonNode? body = null) =>
        JsonExchange.SendAsync(http, method, new Uri(root, path), body, token);

    /// <summary>Retries while the answer is not 201 (the switch may not be reported yet), up to a minute.</summary>
    private async Task<string> CreateAsync(string path, string kind, JsonObject body)
    {
        var deadline = Stopwatch.GetTimestamp() + (60 * Stopwatch.Frequency);
        while (true)
        {
            var (status, answer) = await SendAsync(HttpMethod.Post, path, new JsonObject { [kind] = body.DeepClone() });
            if (status == HttpStatusCode.Created)
            {
                return (string)answer![kind]!["id"]!;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new InvalidOperationException($"POST {path}: {(int)status} {answer?.ToJsonString()}");
            }

            await Task.Delay(250);
        }
    }

    public Task<string> CreateGatewayAsync(string name, string device, string port) =>
        CreateAsync("v2.0/l2-gateways", "l2_gateway", new JsonObject
        {
            ["name"] = name,
            ["devices"] = new JsonArray(new JsonObject { ["device_name"] = device, ["interfaces"] = new JsonArray(new JsonObject { ["name"] = port }) }),
        });

    public Task<string> CreateConnectionAsync(string gateway, string network, int vlan) =>
        CreateAsync("v2.0/l2-gateway-connections", "l2_gateway_connection", new JsonObject
        {
            ["l2_gateway_id"] = gateway,
            ["network_id"] = network,
            ["segmentation_id"] = vlan.ToString(CultureInfo.InvariantCulture),
        });

    public async Task DeleteConnectionAsync(string id)
    {
        var (status, body) = await SendAsync(HttpMethod.Delete, "v2.0/l2-gateway-connections/" + id);
        if (status is not (HttpStatusCode.NoContent or HttpStatusCode.NotFound))
        {
            throw new InvalidOperationException($"connection delete: {(int)status} {body?.ToJsonString()}");
        }
    }

    public async Task DeleteGatewayAsync(string id) => await SendAsync(HttpMethod.Delete, "v2.0/l2-gateways/" + id);

    public async Task<string> MetricsAsync()
    {
        using var answer = await http.GetAsync(new Uri(root, "metrics"));
        return await answer.Content.ReadAsStringAsync();
    }

    public void Dispose() => http.Dispose();
}

/// <summary>One JSON request and its answer: the status, and the body when it is a JSON object.</summary>
internal static class JsonExchange
{
    public static async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpClient http, HttpMethod method, Uri url, JsonNode? body, string? token = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (token is not null)
        {
            request.Headers.Add("X-Auth-Token", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        using var answer = await http.SendAsync(request);
        var text = await answer.Content.ReadAsStringAsync();
        return (answer.StatusCode, text.Length > 0 && text.TrimStart().StartsWith('{') ? JsonNode.Parse(text) : null);
    }
}
