using L2Gateway.Core;
using L2Gateway.Core.Planning;

namespace L2Gateway.Core.Tests;

public class PlannerTests
{
    private static readonly Network Net1 = new("net-1", "blue", "p", [new("vxlan", 5000)]);
    private static readonly Network Net2 = new("net-2", "red", "p", [new("vxlan", 6000)]);

    private static Gateway Gw(string id, params (string Switch, (string Port, int[] Vlans)[] Ports)[] devices) =>
        new(id, id, "p", [.. devices.Select((d, i) => new GatewayDevice($"{id}-d{i}", d.Switch, [.. d.Ports.Select(p => new GatewayInterface(p.Port, p.Vlans))]))]);

    private static Port VmPort(string id, string network, string mac, string ip, string? host, params AddressPair[] pairs) =>
        new(id, id, network, "p", mac, [new FixedIp(null, ip)], host, pairs);

    private static readonly Host[] Hosts = [new("h1", "compute1", "10.0.0.11"), new("h2", "compute2", "10.0.0.12")];

    private static readonly SwitchInventory[] Switches =
    [
        new("sw1", ["192.0.2.1"], "UP", [new("p1", "UP"), new("p2", "UP")]),
        new("sw2", ["192.0.2.2"], "UP", [new("e1", "UP")]),
    ];

    private static IReadOnlyDictionary<string, SwitchDesiredState> Plan(IReadOnlyList<Gateway> gateways, IReadOnlyList<Connection> connections, params Port[] ports) =>
        Planner.Plan(new PlannerInput(gateways, connections, [Net1, Net2], ports, Hosts, Switches));

    [Fact]
    public void A_connection_programs_its_switch_as_spec_5_says()
    {
        var gw = Gw("g1", ("sw1", [("p1", [])]));
        var plan = Plan(
            [gw],
            [new Connection("c1", "g1", "net-1", 100, "p")],
            VmPort("a", "net-1", "02:00:00:00:00:0a", "192.168.0.10", "compute1"),
            VmPort("b", "net-1", "02:00:00:00:00:0b", "192.168.0.11", "compute2", new AddressPair("02:00:00:00:00:ab", "192.168.0.99")),
            VmPort("c", "net-1", "02:00:00:00:00:0c", "192.168.0.12", null),
            VmPort("d", "net-2", "02:00:00:00:00:0d", "192.168.0.13", "compute1"));

        var sw1 = Assert.Single(plan).Value;
        Assert.Equal("sw1", sw1.Switch);
        Assert.Equal([new DesiredLogicalSwitch("net-1", 5000, "blue")], sw1.LogicalSwitches);
        Assert.Equal([new DesiredVlanBinding("p1", 100, "net-1")], sw1.VlanBindings);
        Assert.Equal(
            [
                new DesiredUcastRemote("02:00:00:00:00:0a", "192.168.0.10", "net-1", "10.0.0.11"),
                new DesiredUcastRemote("02:00:00:00:00:0b", "192.168.0.11", "net-1", "10.0.0.12"),
                new DesiredUcastRemote("02:00:00:00:00:ab", "192.168.0.99", "net-1", "10.0.0.12"),
            ],
            sw1.UcastRemotes);
        Assert.Equal("net-1", Assert.Single(sw1.McastRemotes).LogicalSwitch);
        Assert.Equal(["10.0.0.11", "10.0.0.12"], sw1.McastRemotes[0].DstIps);
    }

    [Fact]
    public void Interface_vlans_win_over_the_connection_default_and_devices_split_by_switch()
    {
        var gw = Gw("g1", ("sw1", [("p1", [10, 20]), ("p2", [30])]), ("sw2", [("e1", [])]));
        var plan = Plan([gw], [new Connection("c1", "g1", "net-1", 7, "p")]);
        Assert.Equal(
            [new DesiredVlanBinding("p1", 10, "net-1"), new DesiredVlanBinding("p1", 20, "net-1"), new DesiredVlanBinding("p2", 30, "net-1")],
            plan["sw1"].VlanBindings);
        Assert.Equal([new DesiredVlanBinding("e1", 7, "net-1")], plan["sw2"].VlanBindings);

        // Each switch floods to the other switch on the network, never to itself.
        Assert.Equal(["192.0.2.2"], plan["sw1"].McastRemotes.Single().DstIps);
        Assert.Equal(["192.0.2.1"], plan["sw2"].McastRemotes.Single().DstIps);
    }

    [Fact]
    public void Two_connections_share_the_logical_switch_and_rows()
    {
        var g1 = Gw("g1", ("sw1", [("p1", [])]));
        var g2 = Gw("g2", ("sw1", [("p2", [])]));
        var port = VmPort("a", "net-1", "02:00:00:00:00:0a", "192.168.0.10", "compute1");
        var both = Plan([g1, g2], [new Connection("c1", "g1", "net-1", 100, "p"), new Connection("c2", "g2", "net-1", 200, "p")], port)["sw1"];
        Assert.Single(both.LogicalSwitches);
        Assert.Single(both.UcastRemotes);
        Assert.Single(both.McastRemotes);
        Assert.Equal([new DesiredVlanBinding("p1", 100, "net-1"), new DesiredVlanBinding("p2", 200, "net-1")], both.VlanBindings);

        // Removing one connection keeps the logical switch while the other still uses it.
        var one = Plan([g1, g2], [new Connection("c2", "g2", "net-1", 200, "p")], port)["sw1"];
        Assert.Single(one.LogicalSwitches);
        Assert.Equal([new DesiredVlanBinding("p2", 200, "net-1")], one.VlanBindings);
    }

    [Fact]
    public void Two_networks_on_one_switch_and_shared_locators()
    {
        var gw = Gw("g1", ("sw1", [("p1", [])]));
        var plan = Plan(
            [gw],
            [new Connection("c1", "g1", "net-1", 100, "p"), new Connection("c2", "g1", "net-2", 200, "p")],
            VmPort("a", "net-1", "02:00:00:00:00:0a", "192.168.0.10", "compute1"),
            VmPort("b", "net-2", "02:00:00:00:00:0b", "192.168.1.10", "compute1"))["sw1"];
        Assert.Equal(["net-1", "net-2"], plan.LogicalSwitches.Select(l => l.Name));
        Assert.Equal(2, plan.McastRemotes.Count);
        Assert.Single(plan.UcastRemotes.Select(u => u.DstIp).Distinct());
    }

    [Fact]
    public void No_connection_means_no_state_and_unknown_references_are_ignored()
    {
        var gw = Gw("g1", ("sw1", [("p1", [])]));
        Assert.Empty(Plan([gw], []));
        Assert.Empty(Plan([gw], [new Connection("c1", "missing-gw", "net-1", 1, "p"), new Connection("c2", "g1", "missing-net", 1, "p")]));
    }

    [Fact]
    public void A_port_moving_host_moves_its_locator()
    {
        var gw = Gw("g1", ("sw1", [("p1", [])]));
        var connections = new[] { new Connection("c1", "g1", "net-1", 100, "p") };
        var before = Plan([gw], connections, VmPort("a", "net-1", "02:00:00:00:00:0a", "192.168.0.10", "compute1"))["sw1"];
        var after = Plan([gw], connections, VmPort("a", "net-1", "02:00:00:00:00:0a", "192.168.0.10", "compute2"))["sw1"];
        Assert.Equal("10.0.0.11", before.UcastRemotes.Single().DstIp);
        Assert.Equal("10.0.0.12", after.UcastRemotes.Single().DstIp);
        Assert.NotEqual(before.Revision, after.Revision);
    }

    [Fact]
    public void Revision_is_a_digest_of_content_independent_of_input_order()
    {
        var gw = Gw("g1", ("sw1", [("p1", [])]));
        var a = VmPort("a", "net-1", "02:00:00:00:00:0a", "192.168.0.10", "compute1");
        var b = VmPort("b", "net-1", "02:00:00:00:00:0b", "192.168.0.11", "compute2");
        var c = new[] { new Connection("c1", "g1", "net-1", 100, "p") };
        Assert.Equal(Plan([gw], c, a, b)["sw1"].Revision, Plan([gw], c, b, a)["sw1"].Revision);
        Assert.NotEqual(SwitchDesiredState.Empty("sw1").Revision, Plan([gw], c, a)["sw1"].Revision);
    }

    [Fact]
    public void Allowed_address_pair_prefixes_carry_no_ip_and_duplicates_collapse()
    {
        var gw = Gw("g1", ("sw1", [("p1", [])]));
        var plan = Plan(
            [gw],
            [new Connection("c1", "g1", "net-1", 100, "p")],
            VmPort("a", "net-1", "02:00:00:00:00:0a", "192.168.0.10", "compute1", new AddressPair("", "10.9.0.0/16"), new AddressPair("02:00:00:00:00:0a", "192.168.0.10/32")))["sw1"];
        Assert.Equal(
            [new DesiredUcastRemote("02:00:00:00:00:0a", "", "net-1", "10.0.0.11"), new DesiredUcastRemote("02:00:00:00:00:0a", "192.168.0.10", "net-1", "10.0.0.11")],
            plan.UcastRemotes);
    }

    [Fact]
    public void Two_ports_claiming_one_mac_and_ip_the_lowest_port_id_wins_whatever_the_order()
    {
        var gw = Gw("g1", ("sw1", [("p1", [])]));
        var connections = new[] { new Connection("c1", "g1", "net-1", 100, "p") };
        var low = VmPort("a-port", "net-1", "02:00:00:00:00:0a", "192.168.0.10", "compute2");
        var high = VmPort("b-port", "net-1", "02:00:00:00:00:0a", "192.168.0.10", "compute1");
        foreach (var ports in new[] { new[] { low, high }, [high, low] })
        {
            var row = Assert.Single(Assert.Single(Plan([gw], connections, ports)).Value.UcastRemotes);
            Assert.Equal("10.0.0.12", row.DstIp);
        }
    }

    [Fact]
    public void A_network_spanning_many_switches_floods_each_to_the_others_and_the_ports_hosts_never_to_itself()
    {
        // sw-b has two tunnel IPs; sw-c shares one with a compute host (its own IP is left out even so).
        SwitchInventory[] switches =
        [
            new("sw-a", ["192.0.2.1"], "UP", [new("p1", "UP")]),
            new("sw-b", ["192.0.2.2", "192.0.2.12"], "UP", [new("p1", "UP")]),
            new("sw-c", ["10.0.0.12"], "UP", [new("p1", "UP")]),
            new("sw-d", [], "UP", [new("p1", "UP")]),
        ];
        var gateways = switches.Select(s => Gw("g-" + s.Name, (s.Name, [("p1", [])]))).ToList();
        var connections = gateways.Select(g => new Connection("c-" + g.Id, g.Id, "net-1", 100, "p")).ToList();
        var plan = Planner.Plan(new PlannerInput(
            gateways,
            connections,
            [Net1],
            [VmPort("a", "net-1", "02:00:00:00:00:0a", "192.168.0.10", "compute1"), VmPort("b", "net-1", "02:00:00:00:00:0b", "192.168.0.11", "compute2")],
            Hosts,
            switches));

        IReadOnlyList<string> Flood(string sw) => Assert.Single(plan[sw].McastRemotes).DstIps;
        Assert.Equal(["10.0.0.11", "10.0.0.12", "192.0.2.12", "192.0.2.2"], Flood("sw-a"));
        Assert.Equal(["10.0.0.11", "10.0.0.12", "192.0.2.1"], Flood("sw-b"));
        Assert.Equal(["10.0.0.11", "192.0.2.1", "192.0.2.12", "192.0.2.2"], Flood("sw-c"));
        Assert.Equal(["10.0.0.11", "10.0.0.12", "192.0.2.1", "192.0.2.12", "192.0.2.2"], Flood("sw-d"));
    }

    [Fact]
    public void The_revision_digests_the_same_canonical_text_as_before_so_servers_of_two_versions_agree()
    {
        var state = new SwitchDesiredState(
            "sw1",
            [new DesiredLogicalSwitch("net-2", 6000, "red"), new DesiredLogicalSwitch("net-1", 5000, "bl\u00fce")],
            [new DesiredVlanBinding("p1", 100, "net-1"), new DesiredVlanBinding("p1", 20, "net-2")],
            [new DesiredUcastRemote("02:00:00:00:00:0a", "192.168.0.10", "net-1", "10.0.0.11")],
            [new DesiredMcastRemote("net-1", ["10.0.0.11", "10.0.0.12", "192.0.2.2"]), new DesiredMcastRemote("net-2", ["10.0.0.12"])]);

        // The text as the first servers wrote it, whole, then hashed.
        var text = new System.Text.StringBuilder("sw1\n");
        text.Append("L net-1 5000 bl\u00fce\nL net-2 6000 red\n");
        text.Append("B p1 20 net-2\nB p1 100 net-1\n");
        text.Append("U net-1 ").Append(SwitchDesiredState.DigestUcast(state.UcastRemotes)).Append('\n');
        text.Append("M net-1 10.0.0.11,10.0.0.12,192.0.2.2\nM net-2 10.0.0.12\n");
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text.ToString())))[..16];
        Assert.Equal(expected, state.Revision);
    }
}
