using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using L2Gateway.Testing;
using Npgsql;

namespace L2Gateway.Service.Tests;

/// <summary>
/// <c>l2gw db import-neutron</c> on the OpenStack lab's own Neutron database: the lab loads networking-l2gw's
/// service plugin, so the real <c>openstack l2gw create</c> writes the reference's tables.
/// </summary>
public sealed class ImportNeutronTests : IDisposable
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-import-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string suffix = Guid.NewGuid().ToString("N")[..6];

    public ImportNeutronTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static string Service => Path.Combine(AppContext.BaseDirectory, "l2gw-service.dll");

    private static Task<ProcessResult> RunAsync(params string[] args) =>
        ChildProcess.RunAsync("dotnet", [Service, .. args], TimeSpan.FromMinutes(2));

    /// <summary>The real client against a server with no authentication (the product in its standalone test mode).</summary>
    private static async Task<JsonNode> ThroughProductAsync(Uri endpoint, params string[] args)
    {
        var result = await ChildProcess.RunAsync(
            "/usr/bin/python3",
            ["/usr/bin/openstack", "--os-auth-type", "none", "--os-endpoint", endpoint.ToString().TrimEnd('/'), .. args, "-f", "json"],
            TimeSpan.FromMinutes(2),
            start =>
            {
                foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("OS_", StringComparison.Ordinal)).ToList())
                {
                    start.Environment.Remove(key);
                }
            });
        Assert.True(result.Exit == 0, $"openstack {string.Join(' ', args)} through the product exited {result.Exit}: {result.Err}");
        return JsonNode.Parse(result.Out)!;
    }

    private static async Task<JsonNode> ThroughNeutronAsync(params string[] args) =>
        JsonNode.Parse(await OpenStackLab.OpenStackAsync("admin", [.. args, "-f", "json"]))!;

    private static JsonArray Only(JsonNode list, IReadOnlyCollection<string> ids) =>
        new([.. list.AsArray().Where(n => ids.Contains((string)n!["ID"]!)).OrderBy(n => (string)n!["ID"]!).Select(n => n!.DeepClone())]);

    /// <summary>
    /// JSON text with every object's keys in order and numeric strings as numbers: the reference answers VLAN ids
    /// as strings (<c>["100"]</c>), the product as numbers; an interface without VLANs reads <c>[]</c> in the
    /// reference's list and <c>""</c> in the product's (SPEC §2), a connection without one <c>null</c> and <c>""</c>;
    /// and a device's keys come in another order.
    /// </summary>
    private static string Canonical(JsonNode? node) => node switch
    {
        JsonObject o => "{" + string.Join(",", o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"\"{p.Key}\":{Canonical(p.Value)}")) + "}",
        JsonArray { Count: 0 } => "\"\"",
        JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        null => "\"\"",
        JsonValue v when v.TryGetValue<string>(out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) =>
            number.ToString(CultureInfo.InvariantCulture),
        _ => node.ToJsonString(),
    };

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// The reference's own create needs a live networking-l2gw agent to answer an RPC call, which the lab does not
    /// run; the row is written as its plugin writes it (a standard attribute, then the connection).
    /// </summary>
    private static async Task<string> InsertReferenceConnectionAsync(string gatewayId, string networkId, string projectId, int? segmentationId)
    {
        var id = Guid.NewGuid().ToString();
        await using var connection = await OpenNeutronDatabaseAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var attribute = new NpgsqlCommand(
            "INSERT INTO standardattributes (resource_type, created_at, updated_at, revision_number) VALUES ('l2gatewayconnections', now(), now(), 0) RETURNING id",
            connection,
            transaction);
        var attributeId = (long)(await attribute.ExecuteScalarAsync())!;
        await using var insert = new NpgsqlCommand(
            "INSERT INTO l2gatewayconnections (id, project_id, l2_gateway_id, network_id, segmentation_id, standard_attr_id) VALUES (@id, @project, @gateway, @network, @vlan, @attr)",
            connection,
            transaction);
        insert.Parameters.AddWithValue("id", id);
        insert.Parameters.AddWithValue("project", projectId);
        insert.Parameters.AddWithValue("gateway", gatewayId);
        insert.Parameters.AddWithValue("network", networkId);
        insert.Parameters.AddWithValue("vlan", segmentationId is { } v ? v : DBNull.Value);
        insert.Parameters.AddWithValue("attr", attributeId);
        await insert.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
        return id;
    }

    private static async Task<NpgsqlConnection> OpenNeutronDatabaseAsync()
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = new Uri(OpenStackLab.NeutronDatabaseUrl).Port,
            Username = "postgres",
            Database = "neutron",
        }.ToString());
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Removes connections as the reference would: their standard attribute, which the row cascades from.</summary>
    private static async Task DeleteReferenceConnectionsAsync(IReadOnlyList<string> ids)
    {
        await using var connection = await OpenNeutronDatabaseAsync();
        await using var delete = new NpgsqlCommand(
            "DELETE FROM standardattributes WHERE id IN (SELECT standard_attr_id FROM l2gatewayconnections WHERE id = ANY(@ids))", connection);
        delete.Parameters.AddWithValue("ids", ids.ToArray());
        await delete.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Import_keeps_the_references_gateways_and_connections_and_their_ids()
    {
        var vni = 30_000 + Random.Shared.Next(20_000);
        var network = await ThroughNeutronAsync(
            "network", "create", "--provider-network-type", "vxlan", "--provider-segment", vni.ToString(CultureInfo.InvariantCulture), "imp-net-" + suffix);
        var networkId = (string)network["id"]!;
        var projectId = (string)network["project_id"]!;
        var gateways = new List<string>();
        var connections = new List<string>();
        try
        {
            var tagged = await ThroughNeutronAsync("l2gw", "create", "imp-gw-" + suffix, "--device", $"name=imp-tor-{suffix},interface_names=p1|100#200;p2|300");
            gateways.Add((string)tagged["ID"]!);
            var plain = await ThroughNeutronAsync(
                "l2gw", "create", "imp-gw2-" + suffix, "--device", $"name=imp-tor-{suffix},interface_names=p5", "--device", $"name=imp-tor2-{suffix},interface_names=p6");
            gateways.Add((string)plain["ID"]!);
            connections.Add(await InsertReferenceConnectionAsync(gateways[0], networkId, projectId, null));
            connections.Add(await InsertReferenceConnectionAsync(gateways[1], networkId, projectId, 400));

            var gatewaysInNeutron = Only(await ThroughNeutronAsync("l2gw", "list"), gateways);
            var connectionsInNeutron = Only(await ThroughNeutronAsync("l2gw", "connection", "list"), connections);
            Assert.Equal(2, gatewaysInNeutron.Count);
            Assert.Equal(2, connectionsInNeutron.Count);

            var database = $"sqlite:///{dir.TrimStart('/')}/l2gw.sqlite";
            var imported = await RunAsync("db", "import-neutron", "--from", OpenStackLab.NeutronDatabaseUrl, "--database", database);
            Assert.True(imported.Exit == 0, imported.Err);
            Assert.Matches(@"^imported \d+ gateways and \d+ connections into sqlite", imported.Out.Trim());

            // Again: nothing is duplicated or changed, and the operator is told so.
            var again = await RunAsync("db", "import-neutron", "--from", OpenStackLab.NeutronDatabaseUrl, "--database", database);
            Assert.True(again.Exit == 0, again.Err);
            Assert.Matches(@"^imported 0 gateways and 0 connections into sqlite.*already present", again.Out.Trim());

            var port = FreePort();
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { Service, "server", "--bind", $"127.0.0.1:{port}", "--database", database })
            {
                start.ArgumentList.Add(arg);
            }

            using var server = Process.Start(start)!;
            try
            {
                var endpoint = new Uri($"http://127.0.0.1:{port}/");
                using var http = new HttpClient();
                await WaitForAsync(http, new Uri(endpoint, "v2.0/l2-gateways"));

                // The same gateways and connections as the reference showed, through the same client.
                var gatewaysInProduct = Only(await ThroughProductAsync(endpoint, "l2gw", "list"), gateways);
                var connectionsInProduct = Only(await ThroughProductAsync(endpoint, "l2gw", "connection", "list"), connections);
                Assert.Equal(Canonical(gatewaysInNeutron), Canonical(gatewaysInProduct));
                Assert.Equal(Canonical(connectionsInNeutron), Canonical(connectionsInProduct));
            }
            finally
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync();
            }
        }
        finally
        {
            await DeleteReferenceConnectionsAsync(connections);
            foreach (var gateway in gateways)
            {
                await OpenStackLab.OpenStackAsync("admin", "l2gw", "delete", gateway);
            }

            await OpenStackLab.OpenStackAsync("admin", "network", "delete", networkId);
        }
    }

    [Theory]
    [InlineData("db import-neutron", "needs --from")]
    [InlineData("db import-neutron --from mysql+pymysql://neutron:x@db/neutron", "PostgreSQL Neutron databases only")]
    [InlineData("db import-neutron --from sqlite:///tmp/x.db", "Neutron's database URL")]
    public async Task Bad_sources_are_one_line_errors(string args, string message)
    {
        var result = await RunAsync([.. args.Split(' '), "--database", $"sqlite:///{dir.TrimStart('/')}/x.sqlite"]);
        Assert.Equal(2, result.Exit);
        Assert.Contains(message, result.Err, StringComparison.Ordinal);
        Assert.Single(result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static async Task WaitForAsync(HttpClient http, Uri url)
    {
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(url);
                return;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}
