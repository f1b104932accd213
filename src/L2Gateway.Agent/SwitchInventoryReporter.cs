using L2Gateway.Core;
using L2Gateway.Core.Planning;
using L2Gateway.Ovsdb.HardwareVtep;
using L2Gateway.Ovsdb.Replication;

namespace L2Gateway.Agent;

/// <summary>
/// What an agent tells the server of each switch in one database, for the heartbeat: connection, writer role (or
/// waiting for it), the revision it holds and the one it converged to, the last problem, and the inventory (tunnel IPs, ports and faults, learned MACs)
/// read from the replica. A pure function of a snapshot and the actor's published status.
/// </summary>
internal static class SwitchInventoryReporter
{
    /// <param name="snapshot">The replica's snapshot; null before its first copy.</param>
    /// <param name="lastError">Why the database is not connected (or not yet), when it is not.</param>
    public static IReadOnlyList<SwitchReport> Reports(
        OvsdbHost host, ReplicaSnapshot? snapshot, bool connected, bool writer, SwitchStatus status, string? lastError)
    {
        if (snapshot is null)
        {
            return [new SwitchReport(host.Name, false, false, null, lastError ?? "not connected yet", [], FaultStatus.Up, [], "", [])];
        }

        var vtep = new VtepSnapshot(snapshot);
        var logicalSwitchNames = vtep.LogicalSwitches.ToDictionary(l => l.Uuid, l => l.Name);
        var locators = vtep.PhysicalLocators.ToDictionary(l => l.Uuid, l => l.DstIp);
        var ports = vtep.PhysicalPorts.ToDictionary(p => p.Uuid);
        var disconnectReason = connected ? "" : lastError ?? "disconnected";
        return [.. vtep.PhysicalSwitches.Select(sw => new SwitchReport(
            sw.Name,
            connected,
            writer,
            status.Applied.GetValueOrDefault(sw.Name),
            connected ? status.Error : disconnectReason,
            sw.TunnelIps,
            sw.SwitchFaultStatus.Count == 0 ? FaultStatus.Up : string.Join(",", sw.SwitchFaultStatus),
            [.. sw.Ports.Where(ports.ContainsKey).Select(p => ports[p]).Select(p => new SwitchPortInventory(p.Name, p.PortFaultStatus.Count == 0 ? FaultStatus.Up : string.Join(",", p.PortFaultStatus)))],
            sw.Description,
            [.. vtep.UcastMacsLocal
                .Where(m => logicalSwitchNames.ContainsKey(m.LogicalSwitch))
                .Select(m => new LocalMac(logicalSwitchNames[m.LogicalSwitch], m.Mac, m.IpAddr, locators.GetValueOrDefault(m.Locator) ?? ""))],
            connected && status.StandingBy,
            status.Desired.GetValueOrDefault(sw.Name)?.Revision))];
    }
}

/// <summary>
/// What a <see cref="SwitchActor"/>'s loop publishes for readers on other threads (heartbeat, tests): an immutable
/// value, replaced whole.
/// </summary>
public sealed record SwitchStatus(
    bool Writer,
    bool StandingBy,
    IReadOnlyDictionary<string, string> Applied,
    string Error,
    IReadOnlyDictionary<string, SwitchDesiredState> Desired,
    long DesiredHandled)
{
    public static SwitchStatus Initial { get; } = new(false, false, new Dictionary<string, string>(), "", new Dictionary<string, SwitchDesiredState>(), 0);
}
