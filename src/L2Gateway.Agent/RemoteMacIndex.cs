namespace L2Gateway.Agent;

/// <summary>
/// The remote MAC rows of a switch (<c>Ucast_Macs_Remote</c> or <c>Mcast_Macs_Remote</c>) by logical switch and by
/// (MAC, IP), kept up to date from the replica's change events, so that a pass about one port finds that port's rows
/// without reading the other 100,000. Rows a hand put there twice under one key are all kept.
/// </summary>
public sealed class RemoteMacIndex
{
    private readonly Dictionary<Guid, Rows> byLogicalSwitch = [];

    public void Clear() => byLogicalSwitch.Clear();

    public void Add(Guid logicalSwitch, string mac, string ip, Guid row)
    {
        if (!byLogicalSwitch.TryGetValue(logicalSwitch, out var rows))
        {
            byLogicalSwitch[logicalSwitch] = rows = new Rows();
        }

        rows.All.Add(row);
        if (!rows.ByKey.TryAdd((mac, ip), row))
        {
            rows.Extra ??= [];
            if (!rows.Extra.TryGetValue((mac, ip), out var more))
            {
                rows.Extra[(mac, ip)] = more = [];
            }

            more.Add(row);
        }
    }

    public void Remove(Guid logicalSwitch, string mac, string ip, Guid row)
    {
        if (!byLogicalSwitch.TryGetValue(logicalSwitch, out var rows) || !rows.All.Remove(row))
        {
            return;
        }

        if (rows.All.Count == 0)
        {
            byLogicalSwitch.Remove(logicalSwitch);
            return;
        }

        List<Guid>? more = null;
        rows.Extra?.TryGetValue((mac, ip), out more);
        if (rows.ByKey.TryGetValue((mac, ip), out var first) && first == row)
        {
            if (more is { Count: > 0 })
            {
                rows.ByKey[(mac, ip)] = more[^1];
                more.RemoveAt(more.Count - 1);
            }
            else
            {
                rows.ByKey.Remove((mac, ip));
            }
        }
        else
        {
            more?.Remove(row);
        }

        if (more is { Count: 0 })
        {
            rows.Extra!.Remove((mac, ip));
        }
    }

    /// <summary>Every row of the logical switch.</summary>
    public IEnumerable<Guid> Of(Guid logicalSwitch) =>
        byLogicalSwitch.TryGetValue(logicalSwitch, out var rows) ? rows.All : [];

    /// <summary>The rows of the logical switch with this MAC and IP (normally none or one).</summary>
    public IEnumerable<Guid> Of(Guid logicalSwitch, string mac, string ip)
    {
        if (!byLogicalSwitch.TryGetValue(logicalSwitch, out var rows) || !rows.ByKey.TryGetValue((mac, ip), out var first))
        {
            yield break;
        }

        yield return first;
        if (rows.Extra is not null && rows.Extra.TryGetValue((mac, ip), out var more))
        {
            foreach (var row in more)
            {
                yield return row;
            }
        }
    }

    public int Count => byLogicalSwitch.Values.Sum(r => r.All.Count);

    private sealed class Rows
    {
        public HashSet<Guid> All { get; } = [];

        public Dictionary<(string Mac, string Ip), Guid> ByKey { get; } = [];

        public Dictionary<(string Mac, string Ip), List<Guid>>? Extra { get; set; }
    }
}
