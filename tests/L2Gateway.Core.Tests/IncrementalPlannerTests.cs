using System.Text.Json;
using CsCheck;
using L2Gateway.Core;
using L2Gateway.Core.Planning;

namespace L2Gateway.Core.Tests;

/// <summary>The cached planner must always agree with planning from scratch, and revisions must survive the wire.</summary>
public class IncrementalPlannerTests
{
    private static readonly Network[] Networks = [new("n1", "a", "p", [new("vxlan", 1)]), new("n2", "b", "p", [new("vxlan", 2)]), new("n3", "c", "p", [new("vxlan", 3)])];
    private static readonly Host[] Hosts = [new("h1", "c1", "10.0.0.1"), new("h2", "c2", "10.0.0.2"), new("h3", "c3", "10.0.0.3")];
    private static readonly Gateway[] Gateways =
    [
        new("g1", "g1", "p", [new GatewayDevice("d1", "sw1", [new GatewayInterface("p1", [])])]),
        new("g2", "g2", "p", [new GatewayDevice("d2", "sw2", [new GatewayInterface("e1", [])])]),
    ];

    private static readonly Connection[] Connections =
    [
        new("c1", "g1", "n1", 10, "p"), new("c2", "g1", "n2", 20, "p"), new("c3", "g2", "n2", 30, "p"), new("c4", "g2", "n3", 40, "p"),
    ];

    private static readonly SwitchInventory[] Switches = [new("sw1", ["192.0.2.1"], "UP", []), new("sw2", ["192.0.2.2"], "UP", [])];

    // A change: a port (re)written with a network, a MAC from a small pool (to force collisions) and a host, or removed.
    private static readonly Gen<(int Port, int Network, int Mac, int Host, bool Remove)> Change =
        Gen.Select(Gen.Int[0, 11], Gen.Int[0, 2], Gen.Int[0, 5], Gen.Int[0, 3], Gen.Bool, (p, n, m, h, r) => (p, n, m, h, r));

    [Fact]
    public void Cached_plans_equal_plans_from_scratch_after_any_sequence_of_port_changes()
    {
        Change.Array[1, 60].Sample(changes =>
        {
            var ports = new Dictionary<string, Port>();
            var cache = new PlannerCache();
            foreach (var (p, n, m, h, remove) in changes)
            {
                var id = $"port{p:D2}";
                var old = ports.GetValueOrDefault(id);
                Port? now = null;
                if (remove)
                {
                    ports.Remove(id);
                }
                else
                {
                    // Some ports also claim a second address, sometimes their own (MAC, IP) again.
                    AddressPair[] pairs = m % 3 == 0 ? [new AddressPair("", $"192.168.0.{m}/32")] : m % 3 == 1 ? [new AddressPair($"02:00:00:00:01:{m:x2}", null)] : [];
                    ports[id] = now = new Port(id, id, Networks[n].Id, "p", $"02:00:00:00:00:{m:x2}", [new FixedIp(null, $"192.168.0.{m}")], h == 3 ? null : Hosts[h].Name, pairs);
                }

                cache.PortChanged(old, now, Hosts.ToDictionary(x => x.Name, x => x.TunnelIp));

                var input = new PlannerInput(Gateways, Connections, Networks, [.. ports.Values], Hosts, Switches);
                var cached = Planner.Plan(input, cache);
                var fresh = Planner.Plan(input);
                Assert.Equal(fresh.Keys.Order(), cached.Keys.Order());
                foreach (var (sw, state) in fresh)
                {
                    Assert.Equal(state.Revision, cached[sw].Revision);
                    Assert.Equal(state.UcastRemotes, cached[sw].UcastRemotes);
                    Assert.Equal(state.McastRemotes.Select(x => (x.LogicalSwitch, string.Join(',', x.DstIps))), cached[sw].McastRemotes.Select(x => (x.LogicalSwitch, string.Join(',', x.DstIps))));
                }
            }
        });
    }

    [Fact]
    public void A_desired_state_keeps_its_revision_through_json()
    {
        var ports = Enumerable.Range(0, 50).Select(i => new Port($"p{i}", "", Networks[i % 3].Id, "p", $"02:00:00:00:01:{i:x2}", [new FixedIp(null, $"10.1.0.{i}")], Hosts[i % 3].Name, [])).ToList();
        foreach (var state in Planner.Plan(new PlannerInput(Gateways, Connections, Networks, ports, Hosts, Switches)).Values)
        {
            var back = JsonSerializer.Deserialize<SwitchDesiredState>(JsonSerializer.Serialize(state, AgentProtocol.Json), AgentProtocol.Json)!;
            Assert.Equal(state.Revision, back.Revision);
            Assert.Equal(state.UcastRemotes, back.UcastRemotes);
        }
    }
}
