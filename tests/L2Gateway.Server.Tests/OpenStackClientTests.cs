using System.Text.Json.Nodes;
using L2Gateway.Testing;

namespace L2Gateway.Server.Tests;

/// <summary>The real OpenStack client (python3-openstackclient + python3-networking-l2gw) against a real server.</summary>
public sealed class OpenStackClientTests(SqliteServerFixture server) : IClassFixture<SqliteServerFixture>
{
    private async Task<(int Exit, string Out, string Err)> OpenStackAsync(params string[] args)
    {
        var result = await ChildProcess.RunAsync(
            "/usr/bin/python3",
            ["/usr/bin/openstack", "--os-auth-type", "none", "--os-endpoint", server.BaseUrl.ToString().TrimEnd('/'), .. args],
            TimeSpan.FromMinutes(2),
            start =>
            {
                // The client must not pick up an operator's cloud settings from the environment.
                foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("OS_", StringComparison.Ordinal)).ToList())
                {
                    start.Environment.Remove(key);
                }
            });
        return (result.Exit, result.Out, result.Err);
    }

    private async Task<JsonNode> JsonAsync(params string[] args)
    {
        var (exit, output, error) = await OpenStackAsync([.. args, "-f", "json"]);
        Assert.True(exit == 0, $"openstack {string.Join(' ', args)} exited {exit}: {error}");
        return JsonNode.Parse(output)!;
    }

    [Fact]
    public async Task Every_l2gw_command_of_the_reference_client_works()
    {
        var sw1 = "sw-" + Guid.NewGuid().ToString("N")[..6];
        await server.ReportSwitchAsync(sw1, "UP", ("eth0", "UP"), ("eth1", "UP"));
        await server.ReportSwitchAsync("sw2", "UP", ("p1", "UP"));

        var created = await JsonAsync("l2gw", "create", "gw1", "--device", $"name={sw1},interface_names=eth0|100#200;eth1|300", "--device", "name=sw2,interface_names=p1|5");
        var id = (string)created["ID"]!;
        Assert.Equal("gw1", (string?)created["Name"]);
        var devices = created["Devices"]!.AsArray();
        Assert.Equal(2, devices.Count);
        Assert.Equal(sw1, (string?)devices[0]!["device_name"]);
        Assert.Equal("[100,200]", devices[0]!["interfaces"]![0]!["segmentation_id"]!.ToJsonString());
        Assert.Equal("[300]", devices[0]!["interfaces"]![1]!["segmentation_id"]!.ToJsonString());
        Assert.Equal("[5]", devices[1]!["interfaces"]![0]!["segmentation_id"]!.ToJsonString());

        // The reference's rule: within one device every interface has VLANs or none has.
        var (exit, _, error) = await OpenStackAsync("l2gw", "create", "bad", "--device", "name=sw9,interface_names=eth0|100;eth1");
        Assert.NotEqual(0, exit);
        Assert.Contains("consistent", error, StringComparison.Ordinal);

        var noVlans = await JsonAsync("l2gw", "create", "gw2", "--device", $"name={sw1},interface_names=eth1");
        Assert.Equal("\"\"", noVlans["Devices"]![0]!["interfaces"]![0]!["segmentation_id"]!.ToJsonString());

        var list = await JsonAsync("l2gw", "list");
        Assert.Contains(list.AsArray(), g => (string?)g!["ID"] == id && (string?)g["Name"] == "gw1");
        var (_, table, _) = await OpenStackAsync("l2gw", "list");
        Assert.Contains("| ID ", table, StringComparison.Ordinal);
        Assert.Contains(id, table, StringComparison.Ordinal);

        Assert.Equal(id, (string?)(await JsonAsync("l2gw", "show", id))["ID"]);
        Assert.Equal(id, (string?)(await JsonAsync("l2gw", "show", "gw1"))["ID"]);

        var renamed = await JsonAsync("l2gw", "update", "gw1", "--name", "gw1b");
        Assert.Equal("gw1b", (string?)renamed["Name"]);
        var redevice = await JsonAsync("l2gw", "update", "gw1b", "--device", "name=sw2,interface_names=p1|6#7");
        Assert.Equal("[6,7]", redevice["Devices"]![1]!["interfaces"]![0]!["segmentation_id"]!.ToJsonString());

        var vni = 20_000 + (Environment.ProcessId % 10_000);
        var network = await JsonAsync("network", "create", "--provider-network-type", "vxlan", "--provider-segment", vni.ToString(System.Globalization.CultureInfo.InvariantCulture), "net1");
        var networkId = (string)network["id"]!;
        Assert.Equal("vxlan", (string?)network["provider:network_type"]);
        Assert.Equal(vni, (int)network["provider:segmentation_id"]!);
        Assert.Contains((await JsonAsync("network", "list")).AsArray(), n => (string?)n!["ID"] == networkId);
        Assert.Equal("net1", (string?)(await JsonAsync("network", "show", "net1"))["name"]);

        var port = await JsonAsync("port", "create", "--network", "net1", "--mac-address", "02:00:00:00:00:10", "--fixed-ip", "ip-address=192.168.50.10", "--host", "compute1", "p1");
        Assert.Equal("02:00:00:00:00:10", (string?)port["mac_address"]);
        Assert.Equal("compute1", (string?)port["binding_host_id"]);
        Assert.Contains("192.168.50.10", port["fixed_ips"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains((await JsonAsync("port", "list")).AsArray(), p => (string?)p!["Name"] == "p1");
        Assert.Equal("p1", (string?)(await JsonAsync("port", "show", "p1"))["name"]);

        var connection = await JsonAsync("l2gw", "connection", "create", "gw2", "net1", "--default-segmentation-id", "42");
        var connectionId = (string)connection["ID"]!;
        Assert.Equal(networkId, (string?)connection["Network ID"]);
        Assert.Equal((string?)noVlans["ID"], (string?)connection["L2 GateWay ID"]);
        Assert.Equal(42, (int)connection["Segmentation ID"]!);
        var withVlans = await JsonAsync("l2gw", "connection", "create", "gw1b", networkId);
        Assert.Contains((await JsonAsync("l2gw", "connection", "list")).AsArray(), c => (string?)c!["ID"] == connectionId);
        Assert.Equal(connectionId, (string?)(await JsonAsync("l2gw", "connection", "show", connectionId))["ID"]);

        (exit, _, error) = await OpenStackAsync("l2gw", "delete", "gw2");
        Assert.NotEqual(0, exit);
        Assert.Contains("Failed to delete", error, StringComparison.Ordinal);

        (exit, _, error) = await OpenStackAsync("l2gw", "connection", "delete", connectionId, (string)withVlans["ID"]!);
        Assert.True(exit == 0, error);
        Assert.Empty((await JsonAsync("l2gw", "connection", "list")).AsArray());
        (exit, _, error) = await OpenStackAsync("l2gw", "delete", "gw2", "gw1b");
        Assert.True(exit == 0, error);
        Assert.DoesNotContain((await JsonAsync("l2gw", "list")).AsArray(), g => (string?)g!["ID"] == id);

        (exit, _, error) = await OpenStackAsync("port", "delete", "p1");
        Assert.True(exit == 0, error);
        (exit, _, error) = await OpenStackAsync("network", "delete", "net1");
        Assert.True(exit == 0, error);
        Assert.Empty((await JsonAsync("network", "list")).AsArray());
    }
}
