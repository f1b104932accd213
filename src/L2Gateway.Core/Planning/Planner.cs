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
/// What the planner computed per network, kept between plans: a network's remote MAC rows depend only on its
/// ports and the hosts' tunnel IPs, so a change to one port patches one network. Whoever changes the inputs says
/// what changed: a port (<see cref="PortChanged"/>), or anything else about a network (<see cref="Invalidate"/>;
/// all of them when hosts change).
/// </summary>
public sealed class PlannerCache
{
    internal Dictionary<string, NetworkRows> Networks { get; } = new(StringComparer.Ordinal);

    public void Invalidate(string networkId) => Networks.Remove(networkId);

    public void Clear() => Networks.Clear();

    /// <summary>
    /// A port was added (<paramref name="before"/> null), changed, or removed (<paramref name="after"/> null).
    /// <paramref name="tunnelIpOfHost"/> gives each host's tunnel IP by host name, as the hosts are now.
    /// </summary>
    public void PortChanged(Port? before, Port? after, IReadOnlyDictionary<string, string> tunnelIpOfHost)
    {
        ArgumentNullException.ThrowIfNull(tunnelIpOfHost);
        if (before is not null && Networks.TryGetValue(before.NetworkId, out var was))
        {
            was.Remove(before, tunnelIpOfHost);
        }

        if (after is not null && Networks.TryGetValue(after.NetworkId, out var now))
        {
            now.Add(after, tunnelIpOfHost);
        }
    }
}

/// <summary>
/// Computes, as a pure function of stored data, the desired <c>hardware_vtep</c> content of every switch
/// (SPEC §5). Rows are shared, never duplicated: a logical switch once per network, a binding once per
/// (port, VLAN), a remote MAC once per (MAC, IP, network), a locator per destination IP.
/// </summary>
public static class Planner
{
    public static IReadOnlyDictionary<string, SwitchDesiredState> Plan(PlannerInput input) => Plan(input, new PlannerCache());

    /// <summary>The same plan, reusing the per-network rows <paramref name="cache"/> still holds.</summary>
    public static IReadOnlyDictionary<string, SwitchDesiredState> Plan(PlannerInput input, PlannerCache cache)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(cache);
        var gateways = input.Gateways.ToDictionary(g => g.Id, StringComparer.Ordinal);
        var networks = input.Networks.ToDictionary(n => n.Id, StringComparer.Ordinal);
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

        FillNetworkRows(input, cache, switchesOfNetwork.Keys);

        // Where each network floods, once per network rather than once per switch on it: the ports' tunnel IPs and
        // those of every switch on the network, sorted. A switch's own list is this one without its own IPs (a
        // network spanning N switches would otherwise cost N sorted unions of N sets at every plan).
        var floodOf = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (networkId, names) in switchesOfNetwork)
        {
            var all = new SortedSet<string>(cache.Networks[networkId].PortTunnelIps, StringComparer.Ordinal);
            foreach (var name in names)
            {
                if (switchTunnelIps.TryGetValue(name, out var ips))
                {
                    all.UnionWith(ips);
                }
            }

            floodOf[networkId] = [.. all];
        }

        var result = new Dictionary<string, SwitchDesiredState>(StringComparer.Ordinal);
        foreach (var (switchName, builder) in perSwitch)
        {
            var ucast = new List<DesiredUcastRemote>();
            var digests = new Dictionary<string, string>(StringComparer.Ordinal);
            var mcast = new List<DesiredMcastRemote>();
            foreach (var networkId in builder.LogicalSwitches.Keys.Order(StringComparer.Ordinal))
            {
                var rows = cache.Networks[networkId];
                ucast.AddRange(rows.Ucast);
                if (rows.Ucast.Count > 0)
                {
                    digests[networkId] = rows.Digest;
                }

                // Other gateways' switches on the same network receive its broadcasts too (this switch's own do not).
                var all = floodOf[networkId];
                var flood = switchTunnelIps.TryGetValue(switchName, out var own) && own.Count > 0
                    ? Array.FindAll(all, ip => !own.Contains(ip, StringComparer.Ordinal))
                    : all;
                if (flood.Length > 0)
                {
                    mcast.Add(new DesiredMcastRemote(networkId, flood));
                }
            }

            result[switchName] = new SwitchDesiredState(switchName, [.. builder.LogicalSwitches.Values], [.. builder.Bindings], ucast, mcast, digests);
        }

        return result;
    }

    // Computes the rows of every connected network the cache does not hold: one pass over the ports, whatever
    // the number of networks to fill.
    private static void FillNetworkRows(PlannerInput input, PlannerCache cache, IEnumerable<string> connected)
    {
        var missing = connected.Where(n => !cache.Networks.ContainsKey(n)).ToHashSet(StringComparer.Ordinal);
        if (missing.Count == 0)
        {
            return;
        }

        var tunnelIpOfHost = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var host in input.Hosts)
        {
            tunnelIpOfHost[host.Name] = host.TunnelIp;
        }

        var portsOf = missing.ToDictionary(n => n, _ => new List<Port>(), StringComparer.Ordinal);
        foreach (var port in input.Ports)
        {
            if (portsOf.TryGetValue(port.NetworkId, out var list))
            {
                list.Add(port);
            }
        }

        foreach (var (networkId, ports) in portsOf)
        {
            cache.Networks[networkId] = new NetworkRows(networkId, ports, tunnelIpOfHost);
        }
    }

    private sealed class Builder
    {
        public Dictionary<string, DesiredLogicalSwitch> LogicalSwitches { get; } = new(StringComparer.Ordinal);

        public HashSet<DesiredVlanBinding> Bindings { get; } = [];
    }
}
