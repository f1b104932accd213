using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Replication;

// CS1591 (public member without an XML comment) is off in this file alone. Typed rows of the hardware_vtep schema (vtep.ovsschema): each record property is the schema column of the same name; vtep(5) documents them.
#pragma warning disable CS1591

namespace L2Gateway.Ovsdb.HardwareVtep;

/// <summary>Table names of the hardware_vtep schema.</summary>
public static class VtepTables
{
    public const string Database = "hardware_vtep";
    public const string Global = "Global";
    public const string PhysicalSwitch = "Physical_Switch";
    public const string PhysicalPort = "Physical_Port";
    public const string LogicalSwitch = "Logical_Switch";
    public const string UcastMacsLocal = "Ucast_Macs_Local";
    public const string UcastMacsRemote = "Ucast_Macs_Remote";
    public const string McastMacsLocal = "Mcast_Macs_Local";
    public const string McastMacsRemote = "Mcast_Macs_Remote";
    public const string PhysicalLocator = "Physical_Locator";
    public const string PhysicalLocatorSet = "Physical_Locator_Set";
    public const string Tunnel = "Tunnel";
    public const string Manager = "Manager";

    public static IReadOnlyList<string> All { get; } =
        [Global, PhysicalSwitch, PhysicalPort, LogicalSwitch, UcastMacsLocal, UcastMacsRemote, McastMacsLocal, McastMacsRemote, PhysicalLocator, PhysicalLocatorSet, Tunnel, Manager];

    /// <summary>A replica of all the tables above with the indexes an L2 gateway agent looks things up by.</summary>
    /// <param name="endpoint">The switch's OVSDB server, e.g. "tcp:192.0.2.10:6632" or "ssl:192.0.2.10:6632".</param>
    /// <param name="options">How the replica connects and reconnects.</param>
    /// <param name="macIndexes">
    /// Index the four MAC tables by (MAC, logical switch) for the <c>Find*Mac*</c> lookups. A replica of a large
    /// switch that never looks MACs up that way is smaller and applies updates faster without them.
    /// </param>
    public static OvsdbReplica CreateReplica(string endpoint, OvsdbReplicaOptions? options = null, bool macIndexes = true)
    {
        var replica = new OvsdbReplica(endpoint, Database, All, options)
            .AddIndex(PhysicalSwitch, "name")
            .AddIndex(LogicalSwitch, "name")
            .AddIndex(PhysicalLocator, "dst_ip")
            .AddIndex(Manager, "target");
        if (macIndexes)
        {
            replica.AddIndex(UcastMacsLocal, "MAC", "logical_switch")
                .AddIndex(UcastMacsRemote, "MAC", "logical_switch")
                .AddIndex(McastMacsLocal, "MAC", "logical_switch")
                .AddIndex(McastMacsRemote, "MAC", "logical_switch");
        }

        return replica;
    }
}

/// <summary>The "Global" row: the switches and managers of the database.</summary>
public sealed record GlobalRecord(Guid Uuid, IReadOnlyList<Guid> Managers, IReadOnlyList<Guid> Switches, IReadOnlyDictionary<string, string> OtherConfig)
{
    public static GlobalRecord FromRow(Row r) => new(r.Uuid, r.GetUuidSet("managers"), r.GetUuidSet("switches"), r.GetStringMap("other_config"));
}

/// <summary>A "Physical_Switch" row: a hardware VTEP, its ports, tunnel IPs and faults.</summary>
public sealed record PhysicalSwitch(
    Guid Uuid,
    string Name,
    string Description,
    IReadOnlyList<string> ManagementIps,
    IReadOnlyList<string> TunnelIps,
    IReadOnlyList<Guid> Ports,
    IReadOnlyList<Guid> Tunnels,
    IReadOnlyDictionary<string, string> OtherConfig,
    IReadOnlyList<string> SwitchFaultStatus)
{
    public static PhysicalSwitch FromRow(Row r) => new(
        r.Uuid, r.GetString("name"), r.GetString("description"), r.GetStringSet("management_ips"), r.GetStringSet("tunnel_ips"),
        r.GetUuidSet("ports"), r.GetUuidSet("tunnels"), r.GetStringMap("other_config"), r.GetStringSet("switch_fault_status"));
}

/// <summary>A "Physical_Port" row: a switch port and its VLAN bindings to logical switches.</summary>
public sealed record PhysicalPort(
    Guid Uuid,
    string Name,
    string Description,
    IReadOnlyDictionary<long, Guid> VlanBindings,
    IReadOnlyDictionary<long, Guid> VlanStats,
    IReadOnlyDictionary<string, string> OtherConfig,
    IReadOnlyList<string> PortFaultStatus)
{
    public static PhysicalPort FromRow(Row r) => new(
        r.Uuid, r.GetString("name"), r.GetString("description"), r.GetIntegerUuidMap("vlan_bindings"), r.GetIntegerUuidMap("vlan_stats"),
        r.GetStringMap("other_config"), r.GetStringSet("port_fault_status"));
}

/// <summary>A "Logical_Switch" row: one L2 domain, its VXLAN tunnel key.</summary>
public sealed record LogicalSwitch(Guid Uuid, string Name, string Description, long? TunnelKey, string? ReplicationMode, IReadOnlyDictionary<string, string> OtherConfig)
{
    public static LogicalSwitch FromRow(Row r) => new(
        r.Uuid, r.GetString("name"), r.GetString("description"), r.GetOptionalInteger("tunnel_key"), r.GetOptionalString("replication_mode"), r.GetStringMap("other_config"));
}

/// <summary>A row of Ucast_Macs_Local or Ucast_Macs_Remote.</summary>
public sealed record UcastMac(Guid Uuid, string Mac, Guid LogicalSwitch, Guid Locator, string IpAddr)
{
    public static UcastMac FromRow(Row r) => new(r.Uuid, r.GetString("MAC"), r.GetUuid("logical_switch"), r.GetUuid("locator"), r.GetString("ipaddr"));
}

/// <summary>A row of Mcast_Macs_Local or Mcast_Macs_Remote ("unknown-dst" is the flood entry).</summary>
public sealed record McastMac(Guid Uuid, string Mac, Guid LogicalSwitch, Guid LocatorSet, string IpAddr)
{
    public static McastMac FromRow(Row r) => new(r.Uuid, r.GetString("MAC"), r.GetUuid("logical_switch"), r.GetUuid("locator_set"), r.GetString("ipaddr"));
}

/// <summary>A "Physical_Locator" row: a tunnel endpoint (VTEP IP and encapsulation).</summary>
public sealed record PhysicalLocator(Guid Uuid, string EncapsulationType, string DstIp, long? TunnelKey)
{
    public static PhysicalLocator FromRow(Row r) => new(r.Uuid, r.GetString("encapsulation_type"), r.GetString("dst_ip"), r.GetOptionalInteger("tunnel_key"));
}

/// <summary>A "Physical_Locator_Set" row: the locators a multicast MAC floods to.</summary>
public sealed record PhysicalLocatorSet(Guid Uuid, IReadOnlyList<Guid> Locators)
{
    public static PhysicalLocatorSet FromRow(Row r) => new(r.Uuid, r.GetUuidSet("locators"));
}

/// <summary>A "Tunnel" row: a BFD-monitored tunnel between a local and a remote locator.</summary>
public sealed record Tunnel(
    Guid Uuid,
    Guid Local,
    Guid Remote,
    IReadOnlyDictionary<string, string> BfdConfigLocal,
    IReadOnlyDictionary<string, string> BfdConfigRemote,
    IReadOnlyDictionary<string, string> BfdParams,
    IReadOnlyDictionary<string, string> BfdStatus)
{
    public static Tunnel FromRow(Row r) => new(
        r.Uuid, r.GetUuid("local"), r.GetUuid("remote"), r.GetStringMap("bfd_config_local"), r.GetStringMap("bfd_config_remote"),
        r.GetStringMap("bfd_params"), r.GetStringMap("bfd_status"));
}

/// <summary>A "Manager" row: an OVSDB manager the switch connects to (passive mode).</summary>
public sealed record Manager(Guid Uuid, string Target, long? MaxBackoff, long? InactivityProbe, bool IsConnected, IReadOnlyDictionary<string, string> Status, IReadOnlyDictionary<string, string> OtherConfig)
{
    public static Manager FromRow(Row r) => new(
        r.Uuid, r.GetString("target"), r.GetOptionalInteger("max_backoff"), r.GetOptionalInteger("inactivity_probe"), r.GetBoolean("is_connected"),
        r.GetStringMap("status"), r.GetStringMap("other_config"));
}

/// <summary>Typed, read-only view of a hardware_vtep replica snapshot.</summary>
public sealed class VtepSnapshot(ReplicaSnapshot snapshot)
{
    public ReplicaSnapshot Raw { get; } = snapshot;

    public GlobalRecord? Global => Rows(VtepTables.Global, GlobalRecord.FromRow).FirstOrDefault();

    public IReadOnlyList<PhysicalSwitch> PhysicalSwitches => Rows(VtepTables.PhysicalSwitch, PhysicalSwitch.FromRow);

    public IReadOnlyList<PhysicalPort> PhysicalPorts => Rows(VtepTables.PhysicalPort, PhysicalPort.FromRow);

    public IReadOnlyList<LogicalSwitch> LogicalSwitches => Rows(VtepTables.LogicalSwitch, LogicalSwitch.FromRow);

    public IReadOnlyList<UcastMac> UcastMacsLocal => Rows(VtepTables.UcastMacsLocal, UcastMac.FromRow);

    public IReadOnlyList<UcastMac> UcastMacsRemote => Rows(VtepTables.UcastMacsRemote, UcastMac.FromRow);

    public IReadOnlyList<McastMac> McastMacsLocal => Rows(VtepTables.McastMacsLocal, McastMac.FromRow);

    public IReadOnlyList<McastMac> McastMacsRemote => Rows(VtepTables.McastMacsRemote, McastMac.FromRow);

    public IReadOnlyList<PhysicalLocator> PhysicalLocators => Rows(VtepTables.PhysicalLocator, PhysicalLocator.FromRow);

    public IReadOnlyList<PhysicalLocatorSet> PhysicalLocatorSets => Rows(VtepTables.PhysicalLocatorSet, PhysicalLocatorSet.FromRow);

    public IReadOnlyList<Tunnel> Tunnels => Rows(VtepTables.Tunnel, Tunnel.FromRow);

    public IReadOnlyList<Manager> Managers => Rows(VtepTables.Manager, Manager.FromRow);

    public PhysicalSwitch? FindPhysicalSwitch(string name) =>
        Raw.Tables.TryGetValue(VtepTables.PhysicalSwitch, out var t) && t.FindOne("name", name) is { } r ? PhysicalSwitch.FromRow(r) : null;

    public LogicalSwitch? FindLogicalSwitch(string name) =>
        Raw.Tables.TryGetValue(VtepTables.LogicalSwitch, out var t) && t.FindOne("name", name) is { } r ? LogicalSwitch.FromRow(r) : null;

    public PhysicalLocator? GetPhysicalLocator(Guid uuid) =>
        Raw.Tables.TryGetValue(VtepTables.PhysicalLocator, out var t) && t.Get(uuid) is { } r ? PhysicalLocator.FromRow(r) : null;

    public PhysicalPort? GetPhysicalPort(Guid uuid) =>
        Raw.Tables.TryGetValue(VtepTables.PhysicalPort, out var t) && t.Get(uuid) is { } r ? PhysicalPort.FromRow(r) : null;

    public UcastMac? FindUcastMacRemote(string mac, Guid logicalSwitch) =>
        Raw.Tables.TryGetValue(VtepTables.UcastMacsRemote, out var t) && t.FindOne("MAC,logical_switch", mac, logicalSwitch) is { } r ? UcastMac.FromRow(r) : null;

    public UcastMac? FindUcastMacLocal(string mac, Guid logicalSwitch) =>
        Raw.Tables.TryGetValue(VtepTables.UcastMacsLocal, out var t) && t.FindOne("MAC,logical_switch", mac, logicalSwitch) is { } r ? UcastMac.FromRow(r) : null;

    private List<T> Rows<T>(string table, Func<Row, T> map) =>
        Raw.Tables.TryGetValue(table, out var t) ? [.. t.Rows.Values.Select(map)] : [];
}
