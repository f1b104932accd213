namespace L2Gateway.Server.Persistence;

// Rows as stored. Nested lists (devices, fixed IPs, ...) are JSON columns: they are always read and written
// with their parent, and no query filters inside them.
public sealed class GatewayRow
{
    public required string Id { get; set; }

    public required string Name { get; set; }

    public required string ProjectId { get; set; }

    public required string DevicesJson { get; set; }

    public long CreatedAt { get; set; }
}

public sealed class ConnectionRow
{
    public required string Id { get; set; }

    public required string GatewayId { get; set; }

    public required string NetworkId { get; set; }

    public int? SegmentationId { get; set; }

    public required string ProjectId { get; set; }

    public required string Status { get; set; }

    public string? StatusReason { get; set; }

    public long CreatedAt { get; set; }
}

public sealed class NetworkRow
{
    public required string Id { get; set; }

    public required string Name { get; set; }

    public required string ProjectId { get; set; }

    public required string SegmentsJson { get; set; }

    public bool AdminStateUp { get; set; } = true;

    public bool Shared { get; set; }

    public string Description { get; set; } = "";

    public int Mtu { get; set; } = 1450;

    public long CreatedAt { get; set; }
}

public sealed class PortRow
{
    public required string Id { get; set; }

    public required string Name { get; set; }

    public required string NetworkId { get; set; }

    public required string ProjectId { get; set; }

    public required string MacAddress { get; set; }

    public required string FixedIpsJson { get; set; }

    public string? HostId { get; set; }

    public required string AllowedAddressPairsJson { get; set; }

    public string DeviceOwner { get; set; } = "";

    public string DeviceId { get; set; } = "";

    public bool AdminStateUp { get; set; } = true;

    public string Description { get; set; } = "";

    public long CreatedAt { get; set; }
}

public sealed class HostRow
{
    public required string Id { get; set; }

    public required string Name { get; set; }

    public required string TunnelIp { get; set; }

    public long CreatedAt { get; set; }
}

/// <summary>A switch as the agents last reported it.</summary>
public sealed class SwitchRow
{
    public required string Name { get; set; }

    public required string TunnelIpsJson { get; set; }

    public required string FaultStatus { get; set; }

    public required string PortsJson { get; set; }

    public string Description { get; set; } = "";

    public string? AgentId { get; set; }

    public long UpdatedAt { get; set; }

    /// <summary>The desired-state revision the agent last applied completely, or null.</summary>
    public string? AppliedRevision { get; set; }

    /// <summary>Whether the agent holds a live OVSDB session to the switch.</summary>
    public bool Connected { get; set; }

    /// <summary>Why the switch is not converged, as its agent reported it; empty when it is.</summary>
    public string LastError { get; set; } = "";
}

/// <summary>An L2 gateway agent and its last heartbeat.</summary>
public sealed class AgentRow
{
    public required string Id { get; set; }

    public required string Host { get; set; }

    public long StartedAt { get; set; }

    public long HeartbeatAt { get; set; }

    public required string ConfigurationsJson { get; set; }
}

/// <summary>A MAC a switch learned on its ports (<c>Ucast_Macs_Local</c>), as its agent reported it.</summary>
public sealed class LocalMacRow
{
    public required string Switch { get; set; }

    public required string LogicalSwitch { get; set; }

    public required string Mac { get; set; }

    public required string IpAddress { get; set; }

    public required string TunnelIp { get; set; }
}

/// <summary>
/// One segment of a network, keyed by what identifies it on the wire: the key is the database's guarantee that a
/// (type, physical network, segmentation id) belongs to one network, however many servers write at once.
/// </summary>
public sealed class NetworkSegmentRow
{
    public required string NetworkType { get; set; }

    /// <summary>The physical network, or empty for overlay types (an empty string, not null, so the key is unique).</summary>
    public required string PhysicalNetwork { get; set; }

    public int SegmentationId { get; set; }

    public required string NetworkId { get; set; }
}
