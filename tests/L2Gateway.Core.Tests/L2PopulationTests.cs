using CsCheck;
using L2Gateway.Core.L2Population;

namespace L2Gateway.Core.Tests;

/// <summary>The OVS agents' forwarding entries for the switches (SPEC §8), and what to send to move them.</summary>
public sealed class L2PopulationTests
{
    private static readonly Network Net1 = new("net1", "n1", "p", [new NetworkSegment("vxlan", 5001)]);
    private static readonly Network Net2 = new("net2", "n2", "p", [new NetworkSegment("vxlan", 5002)]);

    private static Gateway Gw(string id, params string[] switches) =>
        new(id, id, "p", [.. switches.Select(s => new GatewayDevice("d-" + s, s, [new GatewayInterface("p1", [])]))]);

    private static SwitchInventory Switch(string name, params string[] ips) => new(name, ips, "UP", []);

    private static Connection Conn(string gateway, string network, string id = "") => new(id.Length > 0 ? id : $"{gateway}-{network}", gateway, network, 100, "p");

    private static L2PopulationInput Input(
        IReadOnlyList<Gateway> gateways, IReadOnlyList<Connection> connections, IReadOnlyList<SwitchInventory> switches, params LearnedMac[] macs) =>
        new(gateways, connections, [Net1, Net2], switches, macs);

    /// <summary>A table as lines "NET SEG IP MAC IP" (flooding first per IP), for readable comparisons.</summary>
    private static List<string> Lines(FdbTable table) =>
        [.. table.Networks.Values.SelectMany(n => n.Ports.SelectMany(p => p.Value.Select(e => $"{n.NetworkId} {n.NetworkType}/{n.SegmentId} {p.Key} {e.Mac} {e.Ip}")))];

    private const string Flood = "00:00:00:00:00:00 0.0.0.0";

    [Fact]
    public void A_connected_network_floods_to_each_tunnel_ip_of_its_switches()
    {
        var table = L2PopulationPlanner.Desired(Input([Gw("g1", "sw1", "sw2")], [Conn("g1", "net1")], [Switch("sw1", "10.0.0.1"), Switch("sw2", "10.0.0.2", "10.0.0.3")]));

        Assert.Equal(
            [$"net1 vxlan/5001 10.0.0.1 {Flood}", $"net1 vxlan/5001 10.0.0.2 {Flood}", $"net1 vxlan/5001 10.0.0.3 {Flood}"],
            Lines(table));
    }

    [Fact]
    public void Macs_a_switch_learned_in_the_networks_logical_switch_follow_its_flooding_entry()
    {
        var table = L2PopulationPlanner.Desired(Input(
            [Gw("g1", "sw1"), Gw("g9", "sw9")],
            [Conn("g1", "net1")],
            [Switch("sw1", "10.0.0.1"), Switch("sw9", "10.0.0.9")],
            new LearnedMac("sw1", "net1", "02:00:00:00:00:20", "192.168.50.20", "10.0.0.1"),
            new LearnedMac("sw1", "net1", "02:00:00:00:00:10", "192.168.50.10", "10.0.0.1"),
            new LearnedMac("sw1", "net2", "02:00:00:00:00:30", "192.168.60.30", "10.0.0.1"),
            new LearnedMac("sw9", "net1", "02:00:00:00:00:90", "192.168.50.90", "10.0.0.9")));

        Assert.Equal(
            [$"net1 vxlan/5001 10.0.0.1 {Flood}", "net1 vxlan/5001 10.0.0.1 02:00:00:00:00:10 192.168.50.10", "net1 vxlan/5001 10.0.0.1 02:00:00:00:00:20 192.168.50.20"],
            Lines(table));
    }

    [Fact]
    public void A_mac_without_ip_or_locator_gets_0_0_0_0_and_the_switchs_first_tunnel_ip()
    {
        var table = L2PopulationPlanner.Desired(Input(
            [Gw("g1", "sw1")],
            [Conn("g1", "net1")],
            [Switch("sw1", "10.0.0.1", "10.0.0.5")],
            new LearnedMac("sw1", "net1", "02:AA:00:00:00:01", "", ""),
            new LearnedMac("sw1", "net1", "02:aa:00:00:00:02", "", "10.0.0.5")));

        Assert.Equal(
            [$"net1 vxlan/5001 10.0.0.1 {Flood}", "net1 vxlan/5001 10.0.0.1 02:aa:00:00:00:01 0.0.0.0", $"net1 vxlan/5001 10.0.0.5 {Flood}", "net1 vxlan/5001 10.0.0.5 02:aa:00:00:00:02 0.0.0.0"],
            Lines(table));
    }

    [Fact]
    public void A_mac_learned_by_two_switches_is_sent_behind_the_lowest_tunnel_ip_only()
    {
        var table = L2PopulationPlanner.Desired(Input(
            [Gw("g1", "sw1"), Gw("g2", "sw2")],
            [Conn("g1", "net1"), Conn("g2", "net1")],
            [Switch("sw1", "10.0.0.7"), Switch("sw2", "10.0.0.3")],
            new LearnedMac("sw1", "net1", "02:00:00:00:00:01", "192.168.0.1", "10.0.0.7"),
            new LearnedMac("sw2", "net1", "02:00:00:00:00:01", "192.168.0.1", "10.0.0.3")));

        Assert.Equal(
            [$"net1 vxlan/5001 10.0.0.3 {Flood}", "net1 vxlan/5001 10.0.0.3 02:00:00:00:00:01 192.168.0.1", $"net1 vxlan/5001 10.0.0.7 {Flood}"],
            Lines(table));
    }

    [Fact]
    public void Connections_the_agents_could_not_use_give_nothing()
    {
        var noSegment = new Network("net3", "n3", "p", []);
        var twoSegments = new Network("net4", "n4", "p", [new NetworkSegment("vxlan", 1), new NetworkSegment("vxlan", 2)]);
        var vlanOnly = new Network("net5", "n5", "p", [new NetworkSegment("vlan", 7, "physnet1")]);
        var table = L2PopulationPlanner.Desired(new L2PopulationInput(
            [Gw("g1", "sw1"), Gw("g2", "unreported")],
            [Conn("g1", "net3"), Conn("g1", "net4"), Conn("g1", "net5"), Conn("missing", "net1"), Conn("g1", "missing"), Conn("g2", "net1")],
            [noSegment, twoSegments, vlanOnly, Net1],
            [Switch("sw1", "10.0.0.1"), Switch("sw-no-ip")],
            []));

        Assert.True(table.IsEmpty);
    }

    [Fact]
    public void Two_gateways_and_two_networks_share_nothing()
    {
        var table = L2PopulationPlanner.Desired(Input(
            [Gw("g1", "sw1"), Gw("g2", "sw1", "sw2")],
            [Conn("g1", "net1"), Conn("g2", "net1"), Conn("g2", "net2")],
            [Switch("sw1", "10.0.0.1"), Switch("sw2", "10.0.0.2")]));

        Assert.Equal(
            [$"net1 vxlan/5001 10.0.0.1 {Flood}", $"net1 vxlan/5001 10.0.0.2 {Flood}", $"net2 vxlan/5002 10.0.0.1 {Flood}", $"net2 vxlan/5002 10.0.0.2 {Flood}"],
            Lines(table));
    }

    private static FdbTable Table(params (string Net, int Seg, string Ip, string Mac, string MacIp)[] rows) =>
        new(rows.GroupBy(r => (r.Net, r.Seg)).Select(g => new NetworkFdb(
            g.Key.Net, g.Key.Seg, "vxlan", g.GroupBy(r => r.Ip).ToDictionary(x => x.Key, x => new SortedSet<PortInfo>(x.Select(r => new PortInfo(r.Mac, r.MacIp))), StringComparer.Ordinal))));

    private static readonly (string, int, string, string, string) F1 = ("net1", 5001, "10.0.0.1", "00:00:00:00:00:00", "0.0.0.0");

    [Fact]
    public void From_nothing_everything_is_added_and_back_to_nothing_everything_removed()
    {
        var desired = Table(F1, ("net1", 5001, "10.0.0.1", "02:00:00:00:00:01", "192.168.0.1"));

        var up = FdbChanges.Between(FdbTable.Empty, desired);
        var down = FdbChanges.Between(desired, FdbTable.Empty);

        Assert.True(up.Remove.IsEmpty);
        Assert.Equal(Lines(desired), Lines(up.Add));
        Assert.True(down.Add.IsEmpty);
        Assert.Equal(Lines(desired), Lines(down.Remove));
        Assert.True(FdbChanges.Between(desired, Table(F1, ("net1", 5001, "10.0.0.1", "02:00:00:00:00:01", "192.168.0.1"))).IsEmpty);
    }

    [Fact]
    public void A_mac_whose_ip_changed_is_removed_then_added()
    {
        var changes = FdbChanges.Between(
            Table(F1, ("net1", 5001, "10.0.0.1", "02:00:00:00:00:01", "192.168.0.1")),
            Table(F1, ("net1", 5001, "10.0.0.1", "02:00:00:00:00:01", "192.168.0.2")));

        Assert.Equal(["net1 vxlan/5001 10.0.0.1 02:00:00:00:00:01 192.168.0.1"], Lines(changes.Remove));
        Assert.Equal(["net1 vxlan/5001 10.0.0.1 02:00:00:00:00:01 192.168.0.2"], Lines(changes.Add));
    }

    [Fact]
    public void A_switch_that_moved_to_another_tunnel_ip_is_removed_there_and_added_here()
    {
        var changes = FdbChanges.Between(Table(F1), Table(("net1", 5001, "10.0.0.2", "00:00:00:00:00:00", "0.0.0.0")));

        Assert.Equal([$"net1 vxlan/5001 10.0.0.1 {Flood}"], Lines(changes.Remove));
        Assert.Equal([$"net1 vxlan/5001 10.0.0.2 {Flood}"], Lines(changes.Add));
    }

    [Fact]
    public void A_network_whose_segment_changed_loses_its_old_entries_and_gets_its_new_ones()
    {
        var changes = FdbChanges.Between(
            Table(F1, ("net1", 5001, "10.0.0.1", "02:00:00:00:00:01", "192.168.0.1")),
            Table(("net1", 6001, "10.0.0.1", "00:00:00:00:00:00", "0.0.0.0"), ("net1", 6001, "10.0.0.1", "02:00:00:00:00:01", "192.168.0.1")));

        Assert.Equal([$"net1 vxlan/5001 10.0.0.1 {Flood}", "net1 vxlan/5001 10.0.0.1 02:00:00:00:00:01 192.168.0.1"], Lines(changes.Remove));
        Assert.Equal([$"net1 vxlan/6001 10.0.0.1 {Flood}", "net1 vxlan/6001 10.0.0.1 02:00:00:00:00:01 192.168.0.1"], Lines(changes.Add));
    }

    [Fact]
    public void Only_keeps_one_network()
    {
        var table = Table(F1, ("net2", 5002, "10.0.0.1", "00:00:00:00:00:00", "0.0.0.0"));

        Assert.Equal([$"net2 vxlan/5002 10.0.0.1 {Flood}"], Lines(table.Only("net2")));
        Assert.True(table.Only("net9").IsEmpty);
    }

    // Random tables over a small pool of networks, segments, tunnel IPs, MACs and IPs, so that they collide.
    private static readonly Gen<FdbTable> Tables =
        Gen.Select(Gen.Int[1, 2], Gen.Int[0, 1], Gen.Int[1, 3], Gen.Int[0, 3], Gen.Int[0, 1]).Array[0, 10].Select(rows =>
            Table([.. rows.Select(r => ($"net{r.Item1}", 5000 + r.Item1 + (100 * r.Item2), $"10.0.0.{r.Item3}",
                r.Item4 == 0 ? "00:00:00:00:00:00" : $"02:00:00:00:00:0{r.Item4}", r.Item4 == 0 ? "0.0.0.0" : $"192.168.0.{r.Item5}"))]));

    [Fact]
    public void Sending_the_changes_brings_what_was_sent_to_what_is_desired()
    {
        Gen.Select(Tables, Tables).Sample((sent, desired) =>
        {
            var changes = FdbChanges.Between(sent, desired);

            Assert.Equal(Lines(desired), Lines(sent.Without(changes.Remove).With(changes.Add)));

            // Nothing removed that is still desired under the same segment, nothing added that was already sent.
            Assert.Empty(Lines(changes.Remove).Intersect(Lines(desired)));
            Assert.Empty(Lines(changes.Add).Intersect(Lines(sent)));
        });
    }

    [Fact]
    public void The_wire_form_is_l2populations()
    {
        var table = Table(
            ("b198ac75-a5b9-4fd3-891f-b4a95eea5d16", 5000, "10.77.0.1", "02:00:00:00:00:20", "192.168.50.20"),
            ("b198ac75-a5b9-4fd3-891f-b4a95eea5d16", 5000, "10.77.0.1", "00:00:00:00:00:00", "0.0.0.0"));

        // The args of testbed/openstack/captures/l2pop-add.txt (compact JSON here).
        Assert.Equal(
            """{"fdb_entries":{"b198ac75-a5b9-4fd3-891f-b4a95eea5d16":{"segment_id":5000,"network_type":"vxlan","ports":{"10.77.0.1":[["00:00:00:00:00:00","0.0.0.0"],["02:00:00:00:00:20","192.168.50.20"]]}}}}""",
            L2PopulationWire.Args(table).ToJsonString());
    }
}
