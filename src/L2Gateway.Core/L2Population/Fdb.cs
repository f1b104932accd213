namespace L2Gateway.Core.L2Population;

/// <summary>
/// One forwarding entry an OVS agent keeps for a tunnel endpoint (l2population's <c>PortInfo</c>): a MAC and an IP
/// behind it. <see cref="Flooding"/>, all zeros, means "send this network's broadcasts and unknown unicast there".
/// </summary>
public readonly record struct PortInfo(string Mac, string Ip) : IComparable<PortInfo>
{
    public static readonly PortInfo Flooding = new("00:00:00:00:00:00", "0.0.0.0");

    /// <summary>The IP sent for a MAC the switch learned without one: the agents' ARP responder could not read "".</summary>
    public const string NoIp = "0.0.0.0";

    public bool IsFlooding => this == Flooding;

    /// <summary>The flooding entry first (as Neutron lists it), then by MAC and IP.</summary>
    public int CompareTo(PortInfo other) =>
        IsFlooding != other.IsFlooding ? (IsFlooding ? -1 : 1)
        : string.CompareOrdinal(Mac, other.Mac) is var byMac and not 0 ? byMac
        : string.CompareOrdinal(Ip, other.Ip);

    public static bool operator <(PortInfo left, PortInfo right) => left.CompareTo(right) < 0;

    public static bool operator >(PortInfo left, PortInfo right) => left.CompareTo(right) > 0;

    public static bool operator <=(PortInfo left, PortInfo right) => left.CompareTo(right) <= 0;

    public static bool operator >=(PortInfo left, PortInfo right) => left.CompareTo(right) >= 0;
}

/// <summary>
/// The forwarding entries of one network: its segment (what the agents match the network's traffic by) and, per
/// tunnel endpoint IP, the entries behind it. Immutable.
/// </summary>
public sealed class NetworkFdb
{
    public NetworkFdb(string networkId, int segmentId, string networkType, IReadOnlyDictionary<string, SortedSet<PortInfo>> ports)
    {
        ArgumentNullException.ThrowIfNull(ports);
        NetworkId = networkId;
        SegmentId = segmentId;
        NetworkType = networkType;
        var copy = new SortedDictionary<string, SortedSet<PortInfo>>(StringComparer.Ordinal);
        foreach (var (ip, entries) in ports)
        {
            if (entries.Count > 0)
            {
                copy[ip] = new SortedSet<PortInfo>(entries);
            }
        }

        Ports = copy;
    }

    public string NetworkId { get; }

    public int SegmentId { get; }

    public string NetworkType { get; }

    /// <summary>Tunnel endpoint IP -> its entries (flooding first); no endpoint without entries.</summary>
    public IReadOnlyDictionary<string, SortedSet<PortInfo>> Ports { get; }

    public int Count => Ports.Values.Sum(p => p.Count);

    public bool SameSegment(NetworkFdb other) => other is not null && SegmentId == other.SegmentId && NetworkType == other.NetworkType;

    public IReadOnlySet<PortInfo> At(string tunnelIp) => Ports.TryGetValue(tunnelIp, out var entries) ? entries : new SortedSet<PortInfo>();

    public override string ToString() =>
        $"{NetworkId} {NetworkType}/{SegmentId}: " + string.Join("; ", Ports.Select(p => $"{p.Key} [{string.Join(", ", p.Value.Select(e => $"{e.Mac} {e.Ip}"))}]"));
}

/// <summary>The forwarding entries of several networks, by network id; immutable.</summary>
public sealed class FdbTable
{
    public static readonly FdbTable Empty = new([]);

    public FdbTable(IEnumerable<NetworkFdb> networks)
    {
        ArgumentNullException.ThrowIfNull(networks);
        var map = new SortedDictionary<string, NetworkFdb>(StringComparer.Ordinal);
        foreach (var network in networks)
        {
            if (network.Ports.Count > 0)
            {
                map[network.NetworkId] = network;
            }
        }

        Networks = map;
    }

    public IReadOnlyDictionary<string, NetworkFdb> Networks { get; }

    public bool IsEmpty => Networks.Count == 0;

    /// <summary>This table restricted to one network (empty when it has none of it).</summary>
    public FdbTable Only(string networkId) =>
        Networks.TryGetValue(networkId, out var network) ? new FdbTable([network]) : Empty;

    /// <summary>This table less <paramref name="removed"/>'s entries (a network whose segment differs loses all of its own).</summary>
    public FdbTable Without(FdbTable removed)
    {
        ArgumentNullException.ThrowIfNull(removed);
        var result = new List<NetworkFdb>();
        foreach (var (id, mine) in Networks)
        {
            if (!removed.Networks.TryGetValue(id, out var gone))
            {
                result.Add(mine);
                continue;
            }

            if (!mine.SameSegment(gone))
            {
                continue;
            }

            var ports = mine.Ports.ToDictionary(p => p.Key, p => new SortedSet<PortInfo>(p.Value.Except(gone.At(p.Key))), StringComparer.Ordinal);
            result.Add(new NetworkFdb(id, mine.SegmentId, mine.NetworkType, ports));
        }

        return new FdbTable(result);
    }

    /// <summary>This table with <paramref name="added"/>'s entries (a network whose segment differs is replaced).</summary>
    public FdbTable With(FdbTable added)
    {
        ArgumentNullException.ThrowIfNull(added);
        var result = Networks.ToDictionary(n => n.Key, n => n.Value, StringComparer.Ordinal);
        foreach (var (id, more) in added.Networks)
        {
            if (!result.TryGetValue(id, out var mine) || !mine.SameSegment(more))
            {
                result[id] = more;
                continue;
            }

            var ports = mine.Ports.ToDictionary(p => p.Key, p => new SortedSet<PortInfo>(p.Value), StringComparer.Ordinal);
            foreach (var (ip, entries) in more.Ports)
            {
                (ports.TryGetValue(ip, out var set) ? set : ports[ip] = []).UnionWith(entries);
            }

            result[id] = new NetworkFdb(id, mine.SegmentId, mine.NetworkType, ports);
        }

        return new FdbTable(result.Values);
    }

    public override string ToString() => string.Join("\n", Networks.Values);
}

/// <summary>What to tell the agents to bring them from what they were told to what is desired: removals first.</summary>
public sealed record FdbChanges(FdbTable Remove, FdbTable Add)
{
    public bool IsEmpty => Remove.IsEmpty && Add.IsEmpty;

    /// <summary>
    /// The entries to remove and to add. A network whose segment changed loses every entry under the old segment
    /// and gets all its new ones. Removals go out before additions: an agent deletes a unicast flow by MAC alone,
    /// so removing a MAC's old entry after adding its new one (the MAC moved to another switch, or got a new IP)
    /// would delete the flow just installed.
    /// </summary>
    public static FdbChanges Between(FdbTable sent, FdbTable desired)
    {
        ArgumentNullException.ThrowIfNull(sent);
        ArgumentNullException.ThrowIfNull(desired);
        var remove = new List<NetworkFdb>();
        var add = new List<NetworkFdb>();
        foreach (var id in sent.Networks.Keys.Union(desired.Networks.Keys, StringComparer.Ordinal))
        {
            var was = sent.Networks.GetValueOrDefault(id);
            var now = desired.Networks.GetValueOrDefault(id);
            if (was is null || now is null || !was.SameSegment(now))
            {
                if (was is not null)
                {
                    remove.Add(was);
                }

                if (now is not null)
                {
                    add.Add(now);
                }

                continue;
            }

            var ips = was.Ports.Keys.Union(now.Ports.Keys, StringComparer.Ordinal).ToList();
            remove.Add(new NetworkFdb(id, was.SegmentId, was.NetworkType, ips.ToDictionary(ip => ip, ip => new SortedSet<PortInfo>(was.At(ip).Except(now.At(ip))), StringComparer.Ordinal)));
            add.Add(new NetworkFdb(id, now.SegmentId, now.NetworkType, ips.ToDictionary(ip => ip, ip => new SortedSet<PortInfo>(now.At(ip).Except(was.At(ip))), StringComparer.Ordinal)));
        }

        return new FdbChanges(new FdbTable(remove), new FdbTable(add));
    }
}
