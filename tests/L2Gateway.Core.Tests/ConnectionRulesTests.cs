using L2Gateway.Core;

namespace L2Gateway.Core.Tests;

public class ConnectionRulesTests
{
    private static readonly Gateway WithVlans = new("g1", "gw1", "p", [
        new GatewayDevice("d1", "sw1", [new GatewayInterface("eth0", [100, 200]), new GatewayInterface("eth1", [300])]),
    ]);

    private static readonly Gateway WithoutVlans = new("g2", "gw2", "p", [
        new GatewayDevice("d2", "sw1", [new GatewayInterface("eth0", []), new GatewayInterface("eth2", [])]),
        new GatewayDevice("d3", "sw2", [new GatewayInterface("p1", [])]),
    ]);

    [Fact]
    public void Bindings_use_interface_vlans_or_the_default()
    {
        Assert.Equal(
            [new("sw1", "eth0", 100), new("sw1", "eth0", 200), new("sw1", "eth1", 300)],
            ConnectionRules.Bindings(WithVlans, null).ToList());
        Assert.Equal(
            [new("sw1", "eth0", 42), new("sw1", "eth2", 42), new PortBinding("sw2", "p1", 42)],
            ConnectionRules.Bindings(WithoutVlans, 42).ToList());
        Assert.Empty(ConnectionRules.Bindings(WithoutVlans, null));
    }

    [Fact]
    public void Segmentation_rules_follow_the_gateway()
    {
        ConnectionRules.CheckSegmentation(WithVlans, null);
        ConnectionRules.CheckSegmentation(WithoutVlans, 5);
        Assert.Contains("should not be provided", Assert.Throws<L2GatewayException>(() => ConnectionRules.CheckSegmentation(WithVlans, 5)).Message, StringComparison.Ordinal);
        Assert.Contains("must be specified", Assert.Throws<L2GatewayException>(() => ConnectionRules.CheckSegmentation(WithoutVlans, null)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Network_needs_exactly_one_vxlan_segment()
    {
        Assert.Equal(5000, ConnectionRules.VxlanSegment(new Network("n", "n", "p", [new("vlan", 10), new("vxlan", 5000)])));
        Assert.Equal(ErrorKind.BadRequest, Assert.Throws<L2GatewayException>(() => ConnectionRules.VxlanSegment(new Network("n", "n", "p", [new("vlan", 10)]))).Kind);
        Assert.Equal(ErrorKind.Conflict, Assert.Throws<L2GatewayException>(() => ConnectionRules.VxlanSegment(new Network("n", "n", "p", [new("vxlan", 1), new("vxlan", 2)]))).Kind);
    }

    private static Dictionary<string, SwitchInventory> Inventory(string swFault = "UP", string portFault = "UP") => new()
    {
        ["sw1"] = new SwitchInventory("sw1", ["10.0.0.1"], swFault, [new("eth0", portFault), new("eth1", "UP"), new("eth2", "UP")]),
        ["sw2"] = new SwitchInventory("sw2", ["10.0.0.2"], "UP", [new("p1", "UP")]),
    };

    [Fact]
    public void Inventory_must_know_every_switch_and_port_without_faults()
    {
        ConnectionRules.CheckInventory(WithVlans, Inventory());
        ConnectionRules.CheckInventory(WithoutVlans, Inventory());

        var noSw2 = Inventory();
        noSw2.Remove("sw2");
        var e = Assert.Throws<L2GatewayException>(() => ConnectionRules.CheckInventory(WithoutVlans, noSw2));
        Assert.Equal((ErrorKind.NotFound, "L2GatewayPhysicalSwitchNotFound"), (e.Kind, e.Type));

        var noPort = Inventory();
        noPort["sw1"] = noPort["sw1"] with { Ports = [new("eth0", "UP")] };
        e = Assert.Throws<L2GatewayException>(() => ConnectionRules.CheckInventory(WithVlans, noPort));
        Assert.Equal((ErrorKind.NotFound, "L2GatewayPhysicalPortNotFound"), (e.Kind, e.Type));

        e = Assert.Throws<L2GatewayException>(() => ConnectionRules.CheckInventory(WithVlans, Inventory(swFault: "power_supply_failure")));
        Assert.Equal((ErrorKind.Conflict, "L2GatewayPhysicalSwitchFaultStatus"), (e.Kind, e.Type));
        e = Assert.Throws<L2GatewayException>(() => ConnectionRules.CheckInventory(WithVlans, Inventory(portFault: "DOWN")));
        Assert.Equal((ErrorKind.Conflict, "L2GatewayPhysicalPortFaultStatus"), (e.Kind, e.Type));
    }

    [Fact]
    public void A_vlan_on_a_port_maps_to_one_network()
    {
        var existing = new[] { (new Connection("c1", "g2", "netA", 100, "p"), WithoutVlans) };

        // Same network through another gateway shares the binding.
        ConnectionRules.CheckVlanConflicts(ConnectionRules.Bindings(WithVlans, null).Select(b => (b, "netA")), existing);

        var e = Assert.Throws<L2GatewayException>(() =>
            ConnectionRules.CheckVlanConflicts(ConnectionRules.Bindings(WithVlans, null).Select(b => (b, "netB")), existing));
        Assert.Equal(ErrorKind.Conflict, e.Kind);
        Assert.Contains("VLAN 100", e.Message, StringComparison.Ordinal);

        // Other VLANs on the same port are free.
        ConnectionRules.CheckVlanConflicts(ConnectionRules.Bindings(WithoutVlans, 101).Select(b => (b, "netB")), existing);
    }

    [Fact]
    public void Proposed_bindings_conflict_among_themselves()
    {
        var proposed = new[] { (new PortBinding("s", "p", 1), "a"), (new PortBinding("s", "p", 1), "b") };
        Assert.Throws<L2GatewayException>(() => ConnectionRules.CheckVlanConflicts(proposed, []));
    }
}
