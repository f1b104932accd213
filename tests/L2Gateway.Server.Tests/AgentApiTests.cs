using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using L2Gateway.Core;
using L2Gateway.Core.Planning;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace L2Gateway.Server.Tests;

public sealed class ShortHeartbeatServerFixture : ServerFixture
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-agents-" + Guid.NewGuid().ToString("N"));

    protected override Task<string> DatabaseUrlAsync() => Task.FromResult("sqlite:///" + Path.Combine(directory, "db.sqlite").TrimStart('/'));

    /// <summary>The server's clock: heartbeats age and long polls run out only when a test moves it.</summary>
    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override void Configure(ServerOptions options) => options.AgentDownTime = 2;

    protected override void Configure(WebApplicationBuilder builder) => builder.Services.AddSingleton<TimeProvider>(Clock);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }
}

/// <summary>The agents' side of the API, driven as an agent drives it: reports in, desired state out.</summary>
public sealed class AgentApiTests(ShortHeartbeatServerFixture server) : IClassFixture<ShortHeartbeatServerFixture>
{
    private static SwitchReport Switch(string name, string? applied, bool connected = true, string error = "", params LocalMac[] macs) =>
        new(name, connected, true, applied, error, ["192.0.2.1"], "UP", [new SwitchPortInventory("p1", "UP")], "tor", macs);

    private static async Task<string> ReportAsync(Api api, string host, params SwitchReport[] switches)
    {
        var (status, body) = await api.PostAsync(
            "/v2.0/l2gw-agent/report", JsonSerializer.Serialize(new AgentReport(host, DateTime.UtcNow, switches), AgentProtocol.Json));
        Assert.Equal(HttpStatusCode.OK, status);
        return (string)body!["agent_id"]!;
    }

    private static async Task<DesiredStateBatch> DesiredAsync(Api api, string query)
    {
        var (status, body) = await api.GetAsync("/v2.0/l2gw-agent/desired-state?" + query);
        Assert.Equal(HttpStatusCode.OK, status);
        return body.Deserialize<DesiredStateBatch>(AgentProtocol.Json)!;
    }

    [Fact]
    public async Task Reports_make_agents_visible_and_silence_makes_them_dead()
    {
        using var api = server.Client();
        var host = "agent-" + Guid.NewGuid().ToString("N")[..6];
        var id = await ReportAsync(api, host, Switch("sw-a", null));
        var (_, agent) = await api.GetAsync($"/v2.0/agents/{id}");
        Assert.Equal("L2 Gateway agent", (string?)agent!["agent"]!["agent_type"]);
        Assert.Equal(host, (string?)agent["agent"]!["host"]);
        Assert.True((bool)agent["agent"]!["alive"]!);
        Assert.True((bool)agent["agent"]!["configurations"]!["switches"]!["sw-a"]!["connected"]!);
        var (_, list) = await api.GetAsync("/v2.0/agents");
        Assert.Contains(list!["agents"]!.AsArray(), a => (string?)a!["id"] == id);

        Assert.Equal(HttpStatusCode.Conflict, (await api.DeleteAsync($"/v2.0/agents/{id}")).Status);

        // Alive until agent_down_time (2 s) has passed since the last heartbeat, to the tick; dead from then on.
        server.Clock.Advance(TimeSpan.FromSeconds(2) - TimeSpan.FromTicks(1));
        (_, agent) = await api.GetAsync($"/v2.0/agents/{id}");
        Assert.True((bool)agent!["agent"]!["alive"]!);
        server.Clock.Advance(TimeSpan.FromTicks(1));
        (_, agent) = await api.GetAsync($"/v2.0/agents/{id}");
        Assert.False((bool)agent!["agent"]!["alive"]!);
        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/v2.0/agents/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/v2.0/agents/{id}")).Status);
    }

    [Fact]
    public async Task Desired_state_long_poll_status_and_fdb_follow_the_switch()
    {
        using var api = server.Client();
        var sw = "sw-" + Guid.NewGuid().ToString("N")[..6];
        var host = "agent-" + Guid.NewGuid().ToString("N")[..6];
        await ReportAsync(api, host, Switch(sw, null));

        // Nothing connected yet: the switch wants none of the product's rows.
        var empty = (await DesiredAsync(api, $"switch={sw}")).Switches.Single();
        Assert.Empty(empty.LogicalSwitches);
        Assert.Equal(SwitchDesiredState.Empty(sw).Revision, empty.Revision);

        // An agent that has that revision waits; a new connection answers the wait.
        // The server arming the poll's 20 s timer is the event that proves the poll reached it and is held.
        var waiting = DesiredAsync(api, $"switch={sw}&known={empty.Revision}&wait=20");
        await server.Clock.ArmedAsync(TimeSpan.FromSeconds(20)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(waiting.IsCompleted);

        var vni = 30_000 + Environment.ProcessId % 10_000;
        var net = (string)(await api.CreateAsync("/v2.0/networks", "network", $$$"""{"network":{"name":"n","provider:network_type":"vxlan","provider:segmentation_id":{{{vni}}}}}"""))["id"]!;
        await api.CreateAsync("/v2.0/hosts", "host", $$$"""{"host":{"name":"{{{host}}}-c1","tunnel_ip":"10.0.0.11"}}""");
        await api.CreateAsync("/v2.0/ports", "port", $$$"""{"port":{"network_id":"{{{net}}}","mac_address":"02:00:00:00:01:01","fixed_ips":[{"ip_address":"192.168.9.1"}],"binding:host_id":"{{{host}}}-c1"}}""");
        var gw = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", $$$"""{"l2_gateway":{"name":"g","devices":[{"device_name":"{{{sw}}}","interfaces":[{"name":"p1"}]}]}}"""))["id"]!;
        var connection = await api.CreateAsync("/v2.0/l2-gateway-connections", "l2_gateway_connection", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw}}}","network_id":"{{{net}}}","segmentation_id":100}}""");
        Assert.Equal("PENDING", (string?)connection["status"]);

        var state = (await waiting).Switches.Single();
        Assert.Equal(new DesiredLogicalSwitch(net, vni, "n"), state.LogicalSwitches.Single());
        Assert.Equal(new DesiredVlanBinding("p1", 100, net), state.VlanBindings.Single());
        Assert.Equal(new DesiredUcastRemote("02:00:00:00:01:01", "192.168.9.1", net, "10.0.0.11"), state.UcastRemotes.Single());
        Assert.Equal(["10.0.0.11"], state.McastRemotes.Single().DstIps);

        // The agent applies it and says so: the connection turns ACTIVE; learned MACs appear in the FDB.
        await ReportAsync(api, host, Switch(sw, state.Revision, macs: new LocalMac(net, "02:00:00:00:00:20", "192.168.9.20", "192.0.2.1")));
        var (_, shown) = await api.GetAsync($"/v2.0/l2-gateway-connections/{connection["id"]}");
        Assert.Equal("ACTIVE", (string?)shown!["l2_gateway_connection"]!["status"]);
        var perSwitch = shown["l2_gateway_connection"]!["switches"]!.AsArray().Single()!;
        Assert.Equal((sw, "ACTIVE"), ((string?)perSwitch["switch"], (string?)perSwitch["status"]));
        var (_, fdb) = await api.GetAsync($"/v2.0/networks/{net}/l2gw-fdb");
        Assert.Equal("""["192.0.2.1"]""", fdb!["l2gw_fdb"]!["flood"]!.ToJsonString());
        var mac = fdb["l2gw_fdb"]!["macs"]![0]!;
        Assert.Equal("02:00:00:00:00:20", (string?)mac["mac"]);
        Assert.Equal(sw, (string?)mac["switch"]);
        Assert.Equal("192.0.2.1", (string?)mac["tunnel_ip"]);

        // The switch becomes unreachable: ERROR with the reason.
        await ReportAsync(api, host, Switch(sw, state.Revision, connected: false, error: "connection refused"));
        (_, shown) = await api.GetAsync($"/v2.0/l2-gateway-connections/{connection["id"]}");
        Assert.Equal("ERROR", (string?)shown!["l2_gateway_connection"]!["status"]);
        Assert.Contains("connection refused", (string?)shown["l2_gateway_connection"]!["status_reason"], StringComparison.Ordinal);

        // A port added: an agent holding the last revision gets only the new row, which applied gives the new state.
        await api.CreateAsync("/v2.0/ports", "port", $$$"""{"port":{"network_id":"{{{net}}}","mac_address":"02:00:00:00:01:02","fixed_ips":[{"ip_address":"192.168.9.2"}],"binding:host_id":"{{{host}}}-c1"}}""");
        var batch = await DesiredAsync(api, $"switch={sw}&known={state.Revision}&wait=20");
        Assert.Empty(batch.Switches);
        var delta = Assert.Single(batch.Deltas!);
        Assert.Equal([new DesiredUcastRemote("02:00:00:00:01:02", "192.168.9.2", net, "10.0.0.11")], delta.UcastRemotes);
        Assert.Empty(delta.LogicalSwitches);
        Assert.Empty(delta.VlanBindings);
        var applied = delta.ApplyTo(state);
        var whole = (await DesiredAsync(api, $"switch={sw}")).Switches.Single();
        Assert.Equal(whole.Revision, applied.Revision);
        Assert.Equal(whole.UcastRemotes, applied.UcastRemotes);

        // A revision the server does not know (another server's, or a long-gone one) gets the whole state.
        var unknown = await DesiredAsync(api, $"switch={sw}&known=0123456789abcdef");
        Assert.Equal(whole.Revision, unknown.Switches.Single().Revision);
        Assert.Empty(unknown.Deltas!);
    }

    [Fact]
    public async Task A_long_poll_with_nothing_new_answers_empty_when_its_wait_runs_out()
    {
        using var api = server.Client();
        var sw = "sw-" + Guid.NewGuid().ToString("N")[..6];
        await ReportAsync(api, "agent-" + Guid.NewGuid().ToString("N")[..6], Switch(sw, null));
        var current = (await DesiredAsync(api, $"switch={sw}")).Switches.Single();

        var waiting = DesiredAsync(api, $"switch={sw}&known={current.Revision}&wait=20");
        await server.Clock.ArmedAsync(TimeSpan.FromSeconds(20)).WaitAsync(TimeSpan.FromSeconds(30));
        server.Clock.Advance(TimeSpan.FromSeconds(20));
        var answer = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Empty(answer.Switches);
        Assert.Empty(answer.Deltas!);
    }
}
