using L2Gateway.Core;
using L2Gateway.OpenStack.Neutron;
using L2Gateway.Server.Persistence;

namespace L2Gateway.Server.OpenStack;

/// <summary>
/// Neutron's resources as the catalog's rows, and whether a stored row already says the same: pure functions, so
/// that a read of Neutron writes only the rows that differ (every commit makes the planner recompute).
/// </summary>
internal static class NeutronMirror
{
    public static NetworkRow ToRow(NeutronNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return new NetworkRow
        {
            Id = network.Id,
            Name = network.Name,
            ProjectId = network.ProjectId,
            SegmentsJson = Mapping.ToJson(network.Segments.Select(s => new NetworkSegment(s.NetworkType, s.SegmentationId, s.PhysicalNetwork)).ToList()),
            AdminStateUp = network.AdminStateUp,
            Shared = network.Shared,
            Description = network.Description,
            Mtu = network.Mtu,
            CreatedAt = network.CreatedAt?.UtcTicks ?? 0,
        };
    }

    /// <summary>The segments table's rows of a network: one per segment that has a segmentation id.</summary>
    public static List<NetworkSegmentRow> SegmentRows(NetworkRow network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return
        [
            .. network.ToDomain().Segments
                .Where(s => s.SegmentationId is not null)
                .Select(s => new NetworkSegmentRow
                {
                    NetworkType = s.NetworkType,
                    PhysicalNetwork = s.PhysicalNetwork ?? "",
                    SegmentationId = s.SegmentationId!.Value,
                    NetworkId = network.Id,
                })
                .DistinctBy(SegmentKey),
        ];
    }

    public static (string Type, string Physical, int Id) SegmentKey(NetworkSegmentRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return (row.NetworkType, row.PhysicalNetwork, row.SegmentationId);
    }

    /// <summary>A network's segments without the one of <paramref name="key"/> (that segment now belongs to another network).</summary>
    public static string WithoutSegment(string segmentsJson, (string Type, string Physical, int Id) key) =>
        Mapping.ToJson(Mapping.FromJson<List<NetworkSegment>>(segmentsJson)
            .Where(s => (s.NetworkType, s.PhysicalNetwork ?? "", s.SegmentationId) != (key.Type, key.Physical, (int?)key.Id))
            .ToList());

    public static PortRow ToRow(NeutronPort port)
    {
        ArgumentNullException.ThrowIfNull(port);
        return new PortRow
        {
            Id = port.Id,
            Name = port.Name,
            NetworkId = port.NetworkId,
            ProjectId = port.ProjectId,
            MacAddress = port.MacAddress,
            FixedIpsJson = Mapping.ToJson(port.FixedIps.Select(f => new FixedIp(f.SubnetId, f.IpAddress)).ToList()),
            HostId = string.IsNullOrEmpty(port.HostId) ? null : port.HostId,
            AllowedAddressPairsJson = Mapping.ToJson(port.AllowedAddressPairs.Select(a => new AddressPair(a.MacAddress, a.IpAddress)).ToList()),
            DeviceOwner = port.DeviceOwner,
            DeviceId = port.DeviceId,
            AdminStateUp = port.AdminStateUp,
            Description = port.Description,
            CreatedAt = port.CreatedAt?.UtcTicks ?? 0,
        };
    }

    /// <summary>
    /// The hosts the OVS agents declare: each host's VTEP IP is its agent's <c>tunneling_ip</c>. An agent without one
    /// does no tunnelling and is left out; of two agents on one host, the one alive and started last counts.
    /// </summary>
    public static List<HostRow> HostRows(IEnumerable<NeutronAgent> agents)
    {
        ArgumentNullException.ThrowIfNull(agents);
        return
        [
            .. agents
                .Where(a => !string.IsNullOrEmpty(a.TunnelingIp))
                .GroupBy(a => a.Host, StringComparer.Ordinal)
                .Select(g => g.OrderByDescending(a => a.Alive).ThenByDescending(a => a.StartedAt).First())
                .Select(a => new HostRow { Id = a.Id, Name = a.Host, TunnelIp = a.TunnelingIp! }),
        ];
    }

    // CreatedAt is left out: Neutron's value is the one stored; a row created before it was known keeps its own.
    public static bool Same(NetworkRow a, NetworkRow b) =>
        a.Name == b.Name && a.ProjectId == b.ProjectId && a.SegmentsJson == b.SegmentsJson && a.AdminStateUp == b.AdminStateUp
        && a.Shared == b.Shared && a.Description == b.Description && a.Mtu == b.Mtu;

    public static void CopyInto(NetworkRow target, NetworkRow source)
    {
        target.Name = source.Name;
        target.ProjectId = source.ProjectId;
        target.SegmentsJson = source.SegmentsJson;
        target.AdminStateUp = source.AdminStateUp;
        target.Shared = source.Shared;
        target.Description = source.Description;
        target.Mtu = source.Mtu;
    }

    public static bool Same(PortRow a, PortRow b) =>
        a.Name == b.Name && a.NetworkId == b.NetworkId && a.ProjectId == b.ProjectId && a.MacAddress == b.MacAddress
        && a.FixedIpsJson == b.FixedIpsJson && a.HostId == b.HostId && a.AllowedAddressPairsJson == b.AllowedAddressPairsJson
        && a.DeviceOwner == b.DeviceOwner && a.DeviceId == b.DeviceId && a.AdminStateUp == b.AdminStateUp && a.Description == b.Description;

    public static void CopyInto(PortRow target, PortRow source)
    {
        target.Name = source.Name;
        target.NetworkId = source.NetworkId;
        target.ProjectId = source.ProjectId;
        target.MacAddress = source.MacAddress;
        target.FixedIpsJson = source.FixedIpsJson;
        target.HostId = source.HostId;
        target.AllowedAddressPairsJson = source.AllowedAddressPairsJson;
        target.DeviceOwner = source.DeviceOwner;
        target.DeviceId = source.DeviceId;
        target.AdminStateUp = source.AdminStateUp;
        target.Description = source.Description;
    }
}
