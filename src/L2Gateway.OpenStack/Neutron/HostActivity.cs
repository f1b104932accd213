namespace L2Gateway.OpenStack.Neutron;

/// <summary>
/// Pure bookkeeping behind <see cref="ICatalogEvents"/>: each OVS agent's <c>started_at</c>, and which ACTIVE ports
/// each (host, network) has. Nothing is reported for what the first complete read finds (the publisher sends
/// everything when it starts); after that, a changed <c>started_at</c> is a restart, and a (host, network) going from
/// no ACTIVE port to one is an activation. A (host, network) that loses its last ACTIVE port is forgotten, so that
/// its next one is reported again (the agent dropped the network's tunnels when its last port went).
/// </summary>
public sealed class HostActivity
{
    private readonly Dictionary<string, DateTimeOffset?> startedAt = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Host, string NetworkId)> activePorts = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Host, string NetworkId), int> activeCount = [];
    private bool primed;

    /// <summary>Agents read in full: returns the hosts whose agent restarted since the last read.</summary>
    public IReadOnlyList<string> AgentsRead(IEnumerable<NeutronAgent> agents)
    {
        ArgumentNullException.ThrowIfNull(agents);
        var restarted = new List<string>();
        foreach (var agent in agents)
        {
            if (startedAt.TryGetValue(agent.Host, out var before) && before != agent.StartedAt && agent.StartedAt is not null)
            {
                restarted.Add(agent.Host);
            }

            startedAt[agent.Host] = agent.StartedAt;
        }

        return restarted;
    }

    /// <summary>
    /// Ports read now (all of them when <paramref name="complete"/>, which also forgets ports not among them), and ports
    /// known deleted: returns the (host, network) pairs that got their first ACTIVE port.
    /// </summary>
    public IReadOnlyList<(string Host, string NetworkId)> PortsRead(IEnumerable<NeutronPort> ports, IEnumerable<string> deleted, bool complete)
    {
        ArgumentNullException.ThrowIfNull(ports);
        ArgumentNullException.ThrowIfNull(deleted);
        var activated = new List<(string, string)>();
        var seen = complete ? new HashSet<string>(StringComparer.Ordinal) : null;
        foreach (var port in ports)
        {
            seen?.Add(port.Id);
            (string, string)? now = port.IsActive && port.HostId is { Length: > 0 } host ? (host, port.NetworkId) : null;
            (string, string)? was = activePorts.TryGetValue(port.Id, out var w) ? w : null;
            if (now == was)
            {
                continue;
            }

            if (was is { } old)
            {
                Leave(port.Id, old);
            }

            if (now is { } pair)
            {
                activePorts[port.Id] = pair;
                var count = activeCount.GetValueOrDefault(pair);
                activeCount[pair] = count + 1;
                if (count == 0 && primed)
                {
                    activated.Add(pair);
                }
            }
        }

        var gone = deleted.Where(activePorts.ContainsKey).ToList();
        if (seen is not null)
        {
            gone.AddRange(activePorts.Keys.Where(id => !seen.Contains(id)));
        }

        foreach (var id in gone.Distinct(StringComparer.Ordinal).ToList())
        {
            Leave(id, activePorts[id]);
        }

        primed |= complete;
        return activated;
    }

    private void Leave(string portId, (string Host, string NetworkId) pair)
    {
        activePorts.Remove(portId);
        if (activeCount.GetValueOrDefault(pair) <= 1)
        {
            activeCount.Remove(pair);
        }
        else
        {
            activeCount[pair]--;
        }
    }
}
