using L2Gateway.Ovsdb.HardwareVtep;

namespace L2Gateway.Agent;

/// <summary>
/// The part of a switch's hardware_vtep database the reconciler reasons about, as plain data, so that the
/// diff is a pure function testable without a server.
/// </summary>
public sealed record VtepState(
    IReadOnlyList<VtepState.Switch> Switches,
    IReadOnlyList<VtepState.Port> Ports,
    IReadOnlyList<VtepState.LogicalSwitch> LogicalSwitches,
    IReadOnlyList<VtepState.MacRow> UcastRemotes,
    IReadOnlyList<VtepState.MacRow> McastRemotes,
    IReadOnlyList<VtepState.MacRow> UcastLocals,
    IReadOnlyList<VtepState.MacRow> McastLocals,
    IReadOnlyDictionary<Guid, string> LocatorDstIps,
    IReadOnlyDictionary<Guid, IReadOnlyList<Guid>> LocatorSets)
{
    /// <summary>The marker in <c>Logical_Switch.other_config</c> of the logical switches the product created.</summary>
    public const string OwnerKey = "l2gw-owner";

    public const string OwnerValue = "l2gw";

    public sealed record Switch(Guid Uuid, string Name, IReadOnlyList<string> TunnelIps, IReadOnlyList<Guid> Ports, IReadOnlyList<string> Faults, string Description);

    public sealed record Port(Guid Uuid, string Name, IReadOnlyDictionary<long, Guid> VlanBindings, IReadOnlyList<string> Faults);

    public sealed record LogicalSwitch(Guid Uuid, string Name, long? TunnelKey, string Description, IReadOnlyDictionary<string, string> OtherConfig)
    {
        public bool Owned => OtherConfig.TryGetValue(OwnerKey, out var v) && v == OwnerValue;
    }

    /// <summary>A row of one of the four MAC tables; <c>Locator</c> is a locator (ucast) or a locator set (mcast).</summary>
    public sealed record MacRow(Guid Uuid, string Mac, Guid LogicalSwitch, Guid Locator, string IpAddress);

    public static VtepState Empty { get; } = new([], [], [], [], [], [], [], new Dictionary<Guid, string>(), new Dictionary<Guid, IReadOnlyList<Guid>>());

    /// <summary>
    /// The switch's state with only the given remote MAC rows (the rest of the small tables whole): what a pass
    /// scoped to a few logical switches needs. The local MAC tables are left out; the reconciler does not read them.
    /// </summary>
    public static VtepState From(VtepSnapshot snapshot, IEnumerable<Guid> ucastRemotes, IEnumerable<Guid> mcastRemotes)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(ucastRemotes);
        ArgumentNullException.ThrowIfNull(mcastRemotes);
        var ucast = snapshot.Raw[VtepTables.UcastMacsRemote];
        var mcast = snapshot.Raw[VtepTables.McastMacsRemote];
        return new VtepState(
            [.. snapshot.PhysicalSwitches.Select(s => new Switch(s.Uuid, s.Name, s.TunnelIps, s.Ports, s.SwitchFaultStatus, s.Description))],
            [.. snapshot.PhysicalPorts.Select(p => new Port(p.Uuid, p.Name, p.VlanBindings, p.PortFaultStatus))],
            [.. snapshot.LogicalSwitches.Select(l => new LogicalSwitch(l.Uuid, l.Name, l.TunnelKey, l.Description, l.OtherConfig))],
            [.. ucastRemotes.Select(ucast.Get).OfType<Ovsdb.Data.Row>().Select(UcastMac.FromRow).Select(m => new MacRow(m.Uuid, m.Mac, m.LogicalSwitch, m.Locator, m.IpAddr))],
            [.. mcastRemotes.Select(mcast.Get).OfType<Ovsdb.Data.Row>().Select(McastMac.FromRow).Select(m => new MacRow(m.Uuid, m.Mac, m.LogicalSwitch, m.LocatorSet, m.IpAddr))],
            [],
            [],
            snapshot.PhysicalLocators.ToDictionary(l => l.Uuid, l => l.DstIp),
            snapshot.PhysicalLocatorSets.ToDictionary(s => s.Uuid, s => s.Locators));
    }

    public static VtepState From(VtepSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return new VtepState(
            [.. snapshot.PhysicalSwitches.Select(s => new Switch(s.Uuid, s.Name, s.TunnelIps, s.Ports, s.SwitchFaultStatus, s.Description))],
            [.. snapshot.PhysicalPorts.Select(p => new Port(p.Uuid, p.Name, p.VlanBindings, p.PortFaultStatus))],
            [.. snapshot.LogicalSwitches.Select(l => new LogicalSwitch(l.Uuid, l.Name, l.TunnelKey, l.Description, l.OtherConfig))],
            [.. snapshot.UcastMacsRemote.Select(m => new MacRow(m.Uuid, m.Mac, m.LogicalSwitch, m.Locator, m.IpAddr))],
            [.. snapshot.McastMacsRemote.Select(m => new MacRow(m.Uuid, m.Mac, m.LogicalSwitch, m.LocatorSet, m.IpAddr))],
            [.. snapshot.UcastMacsLocal.Select(m => new MacRow(m.Uuid, m.Mac, m.LogicalSwitch, m.Locator, m.IpAddr))],
            [.. snapshot.McastMacsLocal.Select(m => new MacRow(m.Uuid, m.Mac, m.LogicalSwitch, m.LocatorSet, m.IpAddr))],
            snapshot.PhysicalLocators.ToDictionary(l => l.Uuid, l => l.DstIp),
            snapshot.PhysicalLocatorSets.ToDictionary(s => s.Uuid, s => s.Locators));
    }
}
