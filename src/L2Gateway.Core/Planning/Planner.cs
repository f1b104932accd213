namespace L2Gateway.Core.Planning;

/// <summary>Everything the planner reads: intent, the virtual side, and what the agents know of the switches.</summary>
public sealed record PlannerInput(
    IReadOnlyList<Gateway> Gateways,
    IReadOnlyList<Connection> Connections,
    IReadOnlyList<Network> Networks,
    IReadOnlyList<Port> Ports,
    IReadOnlyList<Host> Hosts,
    IReadOnlyList<SwitchInventory> Switches);

/// <summary>
/// Computes, as a pure function of stored data, the desired <c>hardware_vtep</c> content of every switch
/// (SPEC §5). Rows are shared, never duplicated: a logical switch once per network, a binding once per
/// (port, VLAN), a remote MAC once per (MAC, IP, network), a locator per destination IP.
/// </summary>
public static class Planner
{
    public static IReadOnlyDictionary<string, SwitchDesiredState> Plan(PlannerInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var gateways = input.Gateways.ToDictionary(g => g.Id, StringComparer.Ordinal);
        var networks = input.Networks.ToDictionary(n => n.Id, StringComparer.Ordinal);
        var tunnelIpOfHost = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var host in input.Hosts)
        {
            tunnelIpOfHost[host.Name] = host.TunnelIp;
        }

        var portsByNetwork = input.Ports.GroupBy(p => p.NetworkId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(p => p.Id, StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        var switchTunnelIps = input.Switches.ToDictionary(s => s.Name, s => s.TunnelIps, StringComparer.Ordinal);

        // network id -> switches connected to it, and per switch what each connection contributes.
        var switchesOfNetwork = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        var perSwitch = new Dictionary<string, Builder>(StringComparer.Ordinal);
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
                continue;
            }

            foreach (var device in gateway.Devices)
            {
                var builder = perSwitch.TryGetValue(device.DeviceName, out var b) ? b : perSwitch[device.DeviceName] = new Builder();
                builder.LogicalSwitches[network.Id] = new DesiredLogicalSwitch(network.Id, vni, network.Name);
                foreach (var binding in ConnectionRules.Bindings(gateway with { Devices = [device] }, connection.SegmentationId))
                {
                    builder.Bindings.Add(new DesiredVlanBinding(binding.Port, binding.Vlan, network.Id));
                }

                (switchesOfNetwork.TryGetValue(network.Id, out var set) ? set : switchesOfNetwork[network.Id] = new SortedSet<string>(StringComparer.Ordinal))
                    .Add(device.DeviceName);
            }
        }

        var result = new Dictionary<string, SwitchDesiredState>(StringComparer.Ordinal);
        foreach (var (switchName, builder) in perSwitch)
        {
            var ucast = new Dictionary<(string Mac, string Ip, string Ls), DesiredUcastRemote>();
            var mcast = new List<DesiredMcastRemote>();
            foreach (var networkId in builder.LogicalSwitches.Keys)
            {
                var flood = new SortedSet<string>(StringComparer.Ordinal);
                foreach (var port in portsByNetwork.GetValueOrDefault(networkId) ?? [])
                {
                    if (port.HostId is null || !tunnelIpOfHost.TryGetValue(port.HostId, out var dstIp))
                    {
                        continue; // Not bound to a host with a known VTEP: nowhere to send its traffic.
                    }

                    flood.Add(dstIp);
                    var ip = port.FixedIps.Count > 0 ? port.FixedIps[0].IpAddress : "";
                    ucast.TryAdd((port.MacAddress, ip, networkId), new DesiredUcastRemote(port.MacAddress, ip, networkId, dstIp));
                    foreach (var pair in port.AllowedAddressPairs)
                    {
                        var mac = pair.MacAddress.Length > 0 ? pair.MacAddress : port.MacAddress;
                        var pairIp = HostAddress(pair.IpAddress);
                        ucast.TryAdd((mac, pairIp, networkId), new DesiredUcastRemote(mac, pairIp, networkId, dstIp));
                    }
                }

                // Other gateways' switches on the same network receive its broadcasts too (this switch's own do not).
                foreach (var other in switchesOfNetwork[networkId])
                {
                    if (other != switchName && switchTunnelIps.TryGetValue(other, out var ips))
                    {
                        flood.UnionWith(ips);
                    }
                }

                if (switchTunnelIps.TryGetValue(switchName, out var own))
                {
                    flood.ExceptWith(own);
                }

                if (flood.Count > 0)
                {
                    mcast.Add(new DesiredMcastRemote(networkId, [.. flood]));
                }
            }

            result[switchName] = new SwitchDesiredState(switchName, [.. builder.LogicalSwitches.Values], [.. builder.Bindings], [.. ucast.Values], mcast);
        }

        return result;
    }

    // A pair may name a prefix; the switch's ipaddr column holds one host address, or nothing.
    private static string HostAddress(string? address)
    {
        if (string.IsNullOrEmpty(address))
        {
            return "";
        }

        var slash = address.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return address;
        }

        var prefix = address[(slash + 1)..];
        return prefix is "32" or "128" ? address[..slash] : "";
    }

    private sealed class Builder
    {
        public Dictionary<string, DesiredLogicalSwitch> LogicalSwitches { get; } = new(StringComparer.Ordinal);

        public HashSet<DesiredVlanBinding> Bindings { get; } = [];
    }
}
