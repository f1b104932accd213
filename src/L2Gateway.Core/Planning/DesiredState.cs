using System.Security.Cryptography;
using System.Text;

namespace L2Gateway.Core.Planning;

/// <summary>A logical switch the product wants on a switch: named by the network id, keyed by its VNI.</summary>
public sealed record DesiredLogicalSwitch(string Name, int TunnelKey, string Description);

/// <summary>One entry of <c>Physical_Port[Port].vlan_bindings</c>: <c>Vlan</c> maps to logical switch <c>LogicalSwitch</c>.</summary>
public sealed record DesiredVlanBinding(string Port, int Vlan, string LogicalSwitch);

/// <summary>A <c>Ucast_Macs_Remote</c> row: a virtual MAC reachable through the VTEP at <c>DstIp</c>.</summary>
public sealed record DesiredUcastRemote(string Mac, string IpAddress, string LogicalSwitch, string DstIp);

/// <summary>The <c>Mcast_Macs_Remote</c> "unknown-dst" row of a logical switch: where to flood BUM traffic.</summary>
public sealed record DesiredMcastRemote(string LogicalSwitch, IReadOnlyList<string> DstIps)
{
    public const string UnknownDst = "unknown-dst";
}

/// <summary>
/// Everything the product wants on one switch's <c>hardware_vtep</c> database, in a canonical order, with a
/// revision that is a digest of the content: the same state always has the same revision, on any server.
/// </summary>
public sealed class SwitchDesiredState
{
    // Parameter names match the properties so that System.Text.Json can read this type back.
    public SwitchDesiredState(
        string @switch,
        IReadOnlyList<DesiredLogicalSwitch> logicalSwitches,
        IReadOnlyList<DesiredVlanBinding> vlanBindings,
        IReadOnlyList<DesiredUcastRemote> ucastRemotes,
        IReadOnlyList<DesiredMcastRemote> mcastRemotes)
    {
        ArgumentNullException.ThrowIfNull(logicalSwitches);
        ArgumentNullException.ThrowIfNull(vlanBindings);
        ArgumentNullException.ThrowIfNull(ucastRemotes);
        ArgumentNullException.ThrowIfNull(mcastRemotes);
        Switch = @switch;
        LogicalSwitches = [.. logicalSwitches.OrderBy(l => l.Name, StringComparer.Ordinal)];
        VlanBindings = [.. vlanBindings.OrderBy(b => b.Port, StringComparer.Ordinal).ThenBy(b => b.Vlan)];
        UcastRemotes = [.. ucastRemotes.OrderBy(u => u.LogicalSwitch, StringComparer.Ordinal).ThenBy(u => u.Mac, StringComparer.Ordinal).ThenBy(u => u.IpAddress, StringComparer.Ordinal)];
        McastRemotes = [.. mcastRemotes.OrderBy(m => m.LogicalSwitch, StringComparer.Ordinal)];
        Revision = Digest();
    }

    public string Switch { get; }

    public IReadOnlyList<DesiredLogicalSwitch> LogicalSwitches { get; }

    public IReadOnlyList<DesiredVlanBinding> VlanBindings { get; }

    public IReadOnlyList<DesiredUcastRemote> UcastRemotes { get; }

    public IReadOnlyList<DesiredMcastRemote> McastRemotes { get; }

    public string Revision { get; }

    public static SwitchDesiredState Empty(string switchName) => new(switchName, [], [], [], []);

    private string Digest()
    {
        var text = new StringBuilder();
        text.Append(Switch).Append('\n');
        foreach (var l in LogicalSwitches)
        {
            text.Append("L ").Append(l.Name).Append(' ').Append(l.TunnelKey).Append(' ').Append(l.Description).Append('\n');
        }

        foreach (var b in VlanBindings)
        {
            text.Append("B ").Append(b.Port).Append(' ').Append(b.Vlan).Append(' ').Append(b.LogicalSwitch).Append('\n');
        }

        foreach (var u in UcastRemotes)
        {
            text.Append("U ").Append(u.Mac).Append(' ').Append(u.IpAddress).Append(' ').Append(u.LogicalSwitch).Append(' ').Append(u.DstIp).Append('\n');
        }

        foreach (var m in McastRemotes)
        {
            text.Append("M ").Append(m.LogicalSwitch).Append(' ').Append(string.Join(',', m.DstIps)).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }
}
