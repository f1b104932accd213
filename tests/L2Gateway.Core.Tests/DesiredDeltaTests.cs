using System.Text.Json;
using CsCheck;
using L2Gateway.Core;
using L2Gateway.Core.Planning;

namespace L2Gateway.Core.Tests;

/// <summary>A delta between any two states of a switch, sent over JSON and applied to the first, gives the second.</summary>
public class DesiredDeltaTests
{
    private static readonly Network[] Networks = [new("n1", "a", "p", [new("vxlan", 1)]), new("n2", "b", "p", [new("vxlan", 2)]), new("n3", "c", "p", [new("vxlan", 3)])];
    private static readonly Host[] Hosts = [new("h1", "c1", "10.0.0.1"), new("h2", "c2", "10.0.0.2"), new("h3", "c3", "10.0.0.3")];
    private static readonly Gateway[] Gateways =
    [
        new("g1", "g1", "p", [new GatewayDevice("d1", "sw1", [new GatewayInterface("p1", []), new GatewayInterface("p2", [])])]),
        new("g2", "g2", "p", [new GatewayDevice("d2", "sw2", [new GatewayInterface("e1", [])])]),
    ];

    private static readonly SwitchInventory[] Switches = [new("sw1", ["192.0.2.1"], "UP", []), new("sw2", ["192.0.2.2"], "UP", [])];

    // One world: which of three networks gateway g1 connects (and with which VLAN), and ports with MACs from a small
    // pool (collisions), hosts (moves) and networks.
    private static readonly Gen<SwitchDesiredState> State =
        Gen.Select(
            Gen.Int[0, 7],
            Gen.Int[1, 3],
            Gen.Select(Gen.Int[0, 2], Gen.Int[0, 7], Gen.Int[0, 3]).Array[0, 12],
            (connected, vlan, ports) =>
            {
                var connections = Enumerable.Range(0, 3).Where(n => (connected & (1 << n)) != 0)
                    .Select(n => new Connection($"c{n}", "g1", Networks[n].Id, vlan * 10 + n, "p"))
                    .Append(new Connection("cx", "g2", "n1", 5, "p"))
                    .ToList();
                var portRows = ports.Select((p, i) => new Port(
                    $"port{i:D2}", "", Networks[p.Item1].Id, "p", $"02:00:00:00:00:{p.Item2:x2}", [new FixedIp(null, $"192.168.0.{p.Item2}")], p.Item3 == 3 ? null : Hosts[p.Item3].Name, [])).ToList();
                var plan = Planner.Plan(new PlannerInput(Gateways, connections, Networks, portRows, Hosts, Switches));
                return plan.TryGetValue("sw1", out var state) ? state : SwitchDesiredState.Empty("sw1");
            });

    private static SwitchDesiredState ThroughJson(SwitchDesiredState state) =>
        JsonSerializer.Deserialize<SwitchDesiredState>(JsonSerializer.Serialize(state, AgentProtocol.Json), AgentProtocol.Json)!;

    private static SwitchDesiredDelta ThroughJson(SwitchDesiredDelta delta) =>
        JsonSerializer.Deserialize<SwitchDesiredDelta>(JsonSerializer.Serialize(delta, AgentProtocol.Json), AgentProtocol.Json)!;

    private static void AssertSame(SwitchDesiredState expected, SwitchDesiredState actual)
    {
        Assert.Equal(expected.Revision, actual.Revision);
        Assert.Equal(expected.LogicalSwitches, actual.LogicalSwitches);
        Assert.Equal(expected.VlanBindings, actual.VlanBindings);
        Assert.Equal(expected.UcastRemotes, actual.UcastRemotes);
        Assert.Equal(expected.McastRemotes.Select(m => (m.LogicalSwitch, string.Join(',', m.DstIps))), actual.McastRemotes.Select(m => (m.LogicalSwitch, string.Join(',', m.DstIps))));
        Assert.Equal(expected.UcastDigests.OrderBy(d => d.Key), actual.UcastDigests.OrderBy(d => d.Key));
    }

    [Fact]
    public void A_delta_applied_to_its_base_gives_the_target_state()
    {
        Gen.Select(State, State).Sample((before, after) =>
        {
            var held = ThroughJson(before);
            var delta = ThroughJson(SwitchDesiredDelta.Between(before, after));
            AssertSame(after, delta.ApplyTo(held));
            Assert.Equal(
                after.ChangedLogicalSwitches(before).Order(StringComparer.Ordinal),
                delta.ChangedLogicalSwitches().Where(after.ChangedLogicalSwitches(before).Contains).Order(StringComparer.Ordinal));
        });
    }

    [Fact]
    public void A_delta_between_equal_states_is_empty()
    {
        State.Sample(state =>
        {
            var delta = SwitchDesiredDelta.Between(state, ThroughJson(state));
            Assert.Empty(delta.ChangedLogicalSwitches());
            Assert.Empty(delta.VlanBindings);
            Assert.Empty(delta.RemovedVlanBindings);
        });
    }

    [Fact]
    public void One_port_added_to_a_large_network_is_one_row()
    {
        var ports = Enumerable.Range(0, 1000).Select(i => new Port($"p{i:D4}", "", "n1", "p", $"02:00:00:00:{i / 256:x2}:{i % 256:x2}", [new FixedIp(null, $"10.1.{i / 256}.{i % 256}")], Hosts[i % 3].Name, [])).ToList();
        var connections = new[] { new Connection("c1", "g1", "n1", 10, "p") };
        var before = Planner.Plan(new PlannerInput(Gateways, connections, Networks, ports, Hosts, Switches))["sw1"];
        ports.Add(new Port("p9999", "", "n1", "p", "02:aa:00:00:00:01", [new FixedIp(null, "10.9.0.1")], "c2", []));
        var after = Planner.Plan(new PlannerInput(Gateways, connections, Networks, ports, Hosts, Switches))["sw1"];

        var delta = SwitchDesiredDelta.Between(before, after);

        Assert.Equal([new DesiredUcastRemote("02:aa:00:00:00:01", "10.9.0.1", "n1", "10.0.0.2")], delta.UcastRemotes);
        Assert.Empty(delta.RemovedUcastRemotes);
        Assert.Empty(delta.LogicalSwitches);
        Assert.Empty(delta.McastRemotes);
        AssertSame(after, delta.ApplyTo(before));
    }

    [Fact]
    public void A_delta_refuses_the_wrong_base_and_a_tampered_delta_is_caught()
    {
        var ports = new List<Port> { new("p1", "", "n1", "p", "02:00:00:00:00:01", [new FixedIp(null, "10.1.0.1")], "c1", []) };
        var connections = new[] { new Connection("c1", "g1", "n1", 10, "p") };
        var before = Planner.Plan(new PlannerInput(Gateways, connections, Networks, ports, Hosts, Switches))["sw1"];
        ports.Add(new Port("p2", "", "n1", "p", "02:00:00:00:00:02", [new FixedIp(null, "10.1.0.2")], "c2", []));
        var after = Planner.Plan(new PlannerInput(Gateways, connections, Networks, ports, Hosts, Switches))["sw1"];
        var delta = SwitchDesiredDelta.Between(before, after);

        Assert.Throws<InvalidDataException>(() => delta.ApplyTo(after));
        var tampered = delta with { UcastRemotes = [delta.UcastRemotes[0] with { DstIp = "10.0.0.3" }] };
        Assert.Throws<InvalidDataException>(() => tampered.ApplyTo(before));
    }
}
