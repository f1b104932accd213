using L2Gateway.Core;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace L2Gateway.Server.Tests;

/// <summary>
/// Two servers on one PostgreSQL database, in this process: a write committed by one reaches the other's plan
/// through its notification. The full reload runs once an hour here, so nothing else can carry it in time.
/// </summary>
public sealed class PeerChangeTests : IAsyncLifetime
{
    private const string Switch = "tor-peer";
    private readonly PeerServers servers = new();
    private WebApplication a = null!;
    private WebApplication b = null!;
    private LogLines logB = null!;

    public async Task InitializeAsync()
    {
        await servers.StartAsync();
        (a, b, logB) = (servers.A, servers.B, servers.LogB);
    }

    private static Api Client(WebApplication app) => PeerServers.Client(app);

    /// <summary>Waits, change by change, until <paramref name="app"/>'s desired state of the switch satisfies <paramref name="condition"/>.</summary>
    private static async Task PlanHoldsAsync(WebApplication app, Func<SwitchDesiredStateView, bool> condition, string what)
    {
        var desired = app.Services.GetRequiredService<DesiredStateService>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var next = desired.NextChange;
            var state = desired.For(Switch);
            if (condition(new SwitchDesiredStateView(state.UcastRemotes.Select(u => u.Mac).ToHashSet(StringComparer.Ordinal), state.LogicalSwitches.Count)))
            {
                return;
            }

            try
            {
                await next.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"never happened on the other server: {what}");
            }
        }
    }

    private sealed record SwitchDesiredStateView(HashSet<string> Macs, int LogicalSwitches);

    /// <summary>A connected network on A, with a host whose ports are planned as remote MACs on the switch.</summary>
    private async Task<string> ConnectedNetworkAsync(int vni)
    {
        await ServerHost.ReportSwitchAsync(a, new SwitchInventory(Switch, ["10.9.0.1"], "UP", [new SwitchPortInventory("p1", "UP")]));
        using var api = Client(a);
        var net = (string)(await api.CreateAsync("/v2.0/networks", "network", $$$"""{"network":{"name":"n","provider:network_type":"vxlan","provider:segmentation_id":{{{vni}}}}}"""))["id"]!;
        await api.CreateAsync("/v2.0/hosts", "host", """{"host":{"name":"compute-peer","tunnel_ip":"10.9.0.11"}}""");
        var gw = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", $$$"""{"l2_gateway":{"name":"g","devices":[{"device_name":"{{{Switch}}}","interfaces":[{"name":"p1"}]}]}}"""))["id"]!;
        await api.CreateAsync("/v2.0/l2-gateway-connections", "l2_gateway_connection", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw}}}","network_id":"{{{net}}}","segmentation_id":100}}""");
        return net;
    }

    private static Task<string> CreatePortAsync(Api api, string net, string mac) =>
        api.CreateAsync("/v2.0/ports", "port", $$$"""{"port":{"network_id":"{{{net}}}","mac_address":"{{{mac}}}","binding:host_id":"compute-peer"}}""")
            .ContinueWith(t => (string)t.Result["id"]!, TaskScheduler.Default);

    [Fact]
    public async Task A_write_on_one_server_reaches_the_other_servers_plan_by_its_notification()
    {
        var net = await ConnectedNetworkAsync(7001);
        await PlanHoldsAsync(b, s => s.LogicalSwitches == 1, "the connection planned");

        using var api = Client(a);
        var port = await CreatePortAsync(api, net, "02:00:00:00:70:01");
        await PlanHoldsAsync(b, s => s.Macs.Contains("02:00:00:00:70:01"), "the port's MAC planned");
        Assert.Equal("02:00:00:00:70:01", Assert.Single(b.Services.GetRequiredService<DesiredStateService>().For(Switch).UcastRemotes).Mac);

        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await api.DeleteAsync($"/v2.0/ports/{port}")).Status);
        await PlanHoldsAsync(b, s => s.Macs.Count == 0, "the deleted port's MAC gone");

        // Only LISTEN's own reload ran on B: the notifications carried every change.
        Assert.Equal(1, logB.Count("planner inputs reloaded"));
    }

    [Fact]
    public async Task A_large_write_is_split_over_notifications_and_a_larger_one_is_a_reload()
    {
        var net = await ConnectedNetworkAsync(7002);
        await PlanHoldsAsync(b, s => s.LogicalSwitches == 1, "the connection planned");
        var store = a.Services.GetRequiredService<Store>();

        // 1,000 ports in one transaction: more than one notification can carry, fewer than a reload stands for.
        await store.WriteAsync(db =>
        {
            db.Ports.AddRange(Ports(net, 0, 1000));
            return Task.FromResult(true);
        });
        await PlanHoldsAsync(b, s => s.Macs.Count == 1000, "1,000 MACs planned");
        Assert.Equal(1, logB.Count("planner inputs reloaded"));

        await store.WriteAsync(db =>
        {
            db.Ports.AddRange(Ports(net, 1000, 5000));
            return Task.FromResult(true);
        });
        // The reload updates the plan before it logs: wait for the line, not just the plan.
        await logB.WaitForAsync("planner inputs reloaded from the database: another server's write was too large to list", 1);
        await PlanHoldsAsync(b, s => s.Macs.Count == 6000, "6,000 MACs planned");
    }

    private static IEnumerable<PortRow> Ports(string net, int from, int count) =>
        Enumerable.Range(from, count).Select(i => new PortRow
        {
            Id = Guid.NewGuid().ToString(),
            Name = "",
            NetworkId = net,
            ProjectId = "admin-project",
            MacAddress = $"02:00:00:{i >> 16 & 0xff:x2}:{i >> 8 & 0xff:x2}:{i & 0xff:x2}",
            FixedIpsJson = "[]",
            HostId = "compute-peer",
            AllowedAddressPairsJson = "[]",
        });

    [Fact]
    public async Task A_server_that_lost_its_listen_connection_reloads_once_it_listens_again()
    {
        var net = await ConnectedNetworkAsync(7003);
        await PlanHoldsAsync(b, s => s.LogicalSwitches == 1, "the connection planned");

        // B is cut off: its sessions end and it may not log in again, so it misses A's notification.
        await servers.CutOffBAsync();
        using var api = Client(a);
        await CreatePortAsync(api, net, "02:00:00:00:70:03");

        await servers.LetBBackAsync();
        await PlanHoldsAsync(b, s => s.Macs.Contains("02:00:00:00:70:03"), "the port written while B was cut off");
    }

    public Task DisposeAsync() => servers.DisposeAsync().AsTask();
}
