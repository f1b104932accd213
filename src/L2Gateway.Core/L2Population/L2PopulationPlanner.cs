namespace L2Gateway.Core.L2Population;

/// <summary>A MAC a switch learned on its ports (<c>Ucast_Macs_Local</c>), as its agent reported it.</summary>
public sealed record LearnedMac(string Switch, string LogicalSwitch, string Mac, string IpAddress, string TunnelIp);

/// <summary>What the OVS agents' forwarding entries for the switches are computed from.</summary>
public sealed record L2PopulationInput(
    IReadOnlyList<Gateway> Gateways,
    IReadOnlyList<Connection> Connections,
    IReadOnlyList<Network> Networks,
    IReadOnlyList<SwitchInventory> Switches,
    IReadOnlyList<LearnedMac> LearnedMacs);

/// <summary>
/// The compute side of SPEC §8: for every connected network, the entries Neutron's l2population would give the OVS
/// agents if the switches were agents too. Per tunnel IP of every switch of the network's gateways: the flooding
/// entry (the agents then send the network's broadcasts there), and every MAC that switch learned in the network's
/// logical switch (the agents then send unicast to it straight there, not flooded). Pure.
/// </summary>
public static class L2PopulationPlanner
{
    public static FdbTable Desired(L2PopulationInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var gateways = input.Gateways.ToDictionary(g => g.Id, StringComparer.Ordinal);
        var networks = input.Networks.ToDictionary(n => n.Id, StringComparer.Ordinal);
        var switches = input.Switches.ToDictionary(s => s.Name, StringComparer.Ordinal);
        var learned = input.LearnedMacs.ToLookup(m => (m.Switch, m.LogicalSwitch));

        // network id -> (segment, the switches of its gateways)
        var connected = new Dictionary<string, (int Vni, SortedSet<string> Switches)>(StringComparer.Ordinal);
        foreach (var connection in input.Connections)
        {
            if (!gateways.TryGetValue(connection.GatewayId, out var gateway) || !networks.TryGetValue(connection.NetworkId, out var network))
            {
                continue;
            }

            int vni;
            try
            {
                vni = ConnectionRules.VxlanSegment(network);
            }
            catch (L2GatewayException)
            {
                continue; // No single VXLAN segment: nothing the agents could match.
            }

            var entry = connected.TryGetValue(network.Id, out var e) ? e : connected[network.Id] = (vni, new SortedSet<string>(StringComparer.Ordinal));
            entry.Switches.UnionWith(gateway.Devices.Select(d => d.DeviceName));
        }

        var result = new List<NetworkFdb>();
        foreach (var (networkId, (vni, names)) in connected)
        {
            var ports = new SortedDictionary<string, SortedSet<PortInfo>>(StringComparer.Ordinal);
            SortedSet<PortInfo> At(string ip) => ports.TryGetValue(ip, out var set) ? set : ports[ip] = [];

            // A MAC learned by several switches (a loop, a moved host not yet aged out) is sent behind one tunnel IP
            // only, the lowest: the agents keep one unicast flow per MAC, and removing it behind one IP would delete it.
            var macs = new SortedDictionary<string, (string TunnelIp, string Ip)>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                if (!switches.TryGetValue(name, out var inventory) || inventory.TunnelIps.Count == 0)
                {
                    continue; // Not reported yet: its tunnel IP is unknown.
                }

                foreach (var ip in inventory.TunnelIps)
                {
                    At(ip).Add(PortInfo.Flooding);
                }

                foreach (var mac in learned[(name, networkId)])
                {
                    var tunnelIp = string.IsNullOrEmpty(mac.TunnelIp) ? inventory.TunnelIps[0] : mac.TunnelIp;
                    var candidate = (tunnelIp, string.IsNullOrEmpty(mac.IpAddress) ? PortInfo.NoIp : mac.IpAddress);
                    var key = mac.Mac.ToLowerInvariant();
                    if (!macs.TryGetValue(key, out var held) || string.CompareOrdinal(candidate.tunnelIp, held.TunnelIp) < 0
                        || (candidate.tunnelIp == held.TunnelIp && string.CompareOrdinal(candidate.Item2, held.Ip) < 0))
                    {
                        macs[key] = candidate;
                    }
                }
            }

            foreach (var (mac, (tunnelIp, ip)) in macs)
            {
                At(tunnelIp).Add(new PortInfo(mac, ip));
            }

            result.Add(new NetworkFdb(networkId, vni, Network.Vxlan, ports));
        }

        return new FdbTable(result);
    }
}
