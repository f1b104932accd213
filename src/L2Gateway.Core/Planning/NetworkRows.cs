namespace L2Gateway.Core.Planning;

/// <summary>
/// One network's remote MAC rows and flood destinations, kept so that a port added, changed or removed patches
/// them instead of recomputing them from every port of the network. The rule is the planner's: each (MAC, IP) is
/// sent where the lowest port id claiming it lives; a port claims its MAC with its first fixed IP, and each allowed
/// address pair; a port not bound to a host with a known VTEP claims nothing.
/// </summary>
internal sealed class NetworkRows
{
    private static readonly Comparison<DesiredUcastRemote> ByKey = (a, b) =>
    {
        var c = string.CompareOrdinal(a.Mac, b.Mac);
        return c != 0 ? c : string.CompareOrdinal(a.IpAddress, b.IpAddress);
    };

    private readonly string networkId;
    private readonly Dictionary<(string Mac, string Ip), Claimants> claims = [];
    private readonly Dictionary<string, int> portsPerTunnelIp = new(StringComparer.Ordinal);
    private readonly List<DesiredUcastRemote> rows = [];
    private string? digest;
    private IReadOnlyList<DesiredUcastRemote>? published;
    private IReadOnlyList<string>? flood;

    public NetworkRows(string networkId, IEnumerable<Port> ports, IReadOnlyDictionary<string, string> tunnelIpOfHost)
    {
        this.networkId = networkId;
        foreach (var port in ports)
        {
            foreach (var row in Claims(port, tunnelIpOfHost))
            {
                var candidates = CandidatesOf(row);
                candidates.TryAdd(port.Id, row);
            }

            if (TunnelIp(port, tunnelIpOfHost) is { } ip)
            {
                portsPerTunnelIp[ip] = portsPerTunnelIp.GetValueOrDefault(ip) + 1;
            }
        }

        rows.AddRange(claims.Values.Select(c => c.Winner));
        rows.Sort(ByKey);
    }

    /// <summary>The rows in (MAC, IP) order. Do not keep: the next change replaces the list.</summary>
    public IReadOnlyList<DesiredUcastRemote> Ucast => published ??= rows.ToArray();

    public IReadOnlyList<string> PortTunnelIps => flood ??= [.. portsPerTunnelIp.Keys.Order(StringComparer.Ordinal)];

    public string Digest => digest ??= SwitchDesiredState.DigestUcast(rows);

    /// <summary>Takes a port of this network out (its state before a change) or in (its state after).</summary>
    public void Remove(Port port, IReadOnlyDictionary<string, string> tunnelIpOfHost)
    {
        foreach (var row in Claims(port, tunnelIpOfHost))
        {
            var key = (row.Mac, row.IpAddress);
            if (!claims.TryGetValue(key, out var candidates) || !candidates.Remove(port.Id, out var wasWinner) || !wasWinner)
            {
                continue;
            }

            var at = IndexOf(row);
            if (at < 0)
            {
                continue; // cannot happen while the list and the claims agree
            }

            if (candidates.Count == 0)
            {
                claims.Remove(key);
                rows.RemoveAt(at);
            }
            else
            {
                rows[at] = candidates.Winner;
            }
        }

        if (TunnelIp(port, tunnelIpOfHost) is { } ip && portsPerTunnelIp.TryGetValue(ip, out var n))
        {
            if (n <= 1)
            {
                portsPerTunnelIp.Remove(ip);
            }
            else
            {
                portsPerTunnelIp[ip] = n - 1;
            }
        }

        Changed();
    }

    public void Add(Port port, IReadOnlyDictionary<string, string> tunnelIpOfHost)
    {
        foreach (var row in Claims(port, tunnelIpOfHost))
        {
            var candidates = CandidatesOf(row);
            if (!candidates.TryAdd(port.Id, row))
            {
                continue; // the port claims this key twice (its fixed IP and a pair): the first stands
            }

            if (candidates.Count == 1)
            {
                var at = IndexOf(row);
                rows.Insert(~at, row);
            }
            else if (candidates.WinnerId == port.Id)
            {
                rows[IndexOf(row)] = row;
            }
        }

        if (TunnelIp(port, tunnelIpOfHost) is { } ip)
        {
            portsPerTunnelIp[ip] = portsPerTunnelIp.GetValueOrDefault(ip) + 1;
        }

        Changed();
    }

    private void Changed()
    {
        digest = null;
        published = null;
        flood = null;
    }

    private Claimants CandidatesOf(DesiredUcastRemote row)
    {
        ref var candidates = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(claims, (row.Mac, row.IpAddress), out _);
        return candidates ??= new Claimants();
    }

    /// <summary>The ports claiming one (MAC, IP): nearly always one, so the others get a list only when they exist.</summary>
    private sealed class Claimants
    {
        private SortedList<string, DesiredUcastRemote>? others;

        public string WinnerId { get; private set; } = "";

        public DesiredUcastRemote Winner { get; private set; } = null!;

        public int Count { get; private set; }

        public bool TryAdd(string portId, DesiredUcastRemote row)
        {
            if (Count > 0 && (WinnerId == portId || others?.ContainsKey(portId) == true))
            {
                return false;
            }

            if (Count > 0 && string.CompareOrdinal(portId, WinnerId) > 0)
            {
                (others ??= new SortedList<string, DesiredUcastRemote>(StringComparer.Ordinal)).Add(portId, row);
            }
            else
            {
                if (Count > 0)
                {
                    (others ??= new SortedList<string, DesiredUcastRemote>(StringComparer.Ordinal)).Add(WinnerId, Winner);
                }

                (WinnerId, Winner) = (portId, row);
            }

            Count++;
            return true;
        }

        public bool Remove(string portId, out bool wasWinner)
        {
            wasWinner = Count > 0 && WinnerId == portId;
            if (wasWinner)
            {
                if (others is { Count: > 0 })
                {
                    (WinnerId, Winner) = (others.Keys[0], others.Values[0]);
                    others.RemoveAt(0);
                }
            }
            else if (others?.Remove(portId) != true)
            {
                return false;
            }

            Count--;
            return true;
        }
    }

    private int IndexOf(DesiredUcastRemote row)
    {
        int lo = 0, hi = rows.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = ByKey(rows[mid], row);
            if (c == 0)
            {
                return mid;
            }

            if (c < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return ~lo;
    }

    private static string? TunnelIp(Port port, IReadOnlyDictionary<string, string> tunnelIpOfHost) =>
        port.HostId is not null && tunnelIpOfHost.TryGetValue(port.HostId, out var ip) ? ip : null;

    private IEnumerable<DesiredUcastRemote> Claims(Port port, IReadOnlyDictionary<string, string> tunnelIpOfHost)
    {
        if (TunnelIp(port, tunnelIpOfHost) is not { } dstIp)
        {
            yield break; // Not bound to a host with a known VTEP: nowhere to send its traffic.
        }

        yield return new DesiredUcastRemote(port.MacAddress, port.FixedIps.Count > 0 ? port.FixedIps[0].IpAddress : "", networkId, dstIp);
        foreach (var pair in port.AllowedAddressPairs)
        {
            yield return new DesiredUcastRemote(pair.MacAddress.Length > 0 ? pair.MacAddress : port.MacAddress, HostAddress(pair.IpAddress), networkId, dstIp);
        }
    }

    // A pair may name a prefix; the switch's ipaddr column holds one host address, or nothing.
    internal static string HostAddress(string? address)
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
}
