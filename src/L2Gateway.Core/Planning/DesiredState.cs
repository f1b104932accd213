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
/// The remote MACs are digested per logical switch first, so that a planner that keeps a network's rows between
/// changes can hand their digest in instead of hashing every row again.
/// </summary>
public sealed class SwitchDesiredState
{
    private static readonly Comparison<DesiredUcastRemote> UcastOrder = (a, b) =>
    {
        var c = string.CompareOrdinal(a.LogicalSwitch, b.LogicalSwitch);
        c = c != 0 ? c : string.CompareOrdinal(a.Mac, b.Mac);
        return c != 0 ? c : string.CompareOrdinal(a.IpAddress, b.IpAddress);
    };

    // Parameter names match the properties so that System.Text.Json can read this type back.
    [System.Text.Json.Serialization.JsonConstructor]
    public SwitchDesiredState(
        string @switch,
        IReadOnlyList<DesiredLogicalSwitch> logicalSwitches,
        IReadOnlyList<DesiredVlanBinding> vlanBindings,
        IReadOnlyList<DesiredUcastRemote> ucastRemotes,
        IReadOnlyList<DesiredMcastRemote> mcastRemotes)
        : this(@switch, logicalSwitches, vlanBindings, ucastRemotes, mcastRemotes, null)
    {
    }

    /// <param name="ucastDigests">Each logical switch's <see cref="DigestUcast"/> of its rows, when the caller has them.</param>
    public SwitchDesiredState(
        string @switch,
        IReadOnlyList<DesiredLogicalSwitch> logicalSwitches,
        IReadOnlyList<DesiredVlanBinding> vlanBindings,
        IReadOnlyList<DesiredUcastRemote> ucastRemotes,
        IReadOnlyList<DesiredMcastRemote> mcastRemotes,
        IReadOnlyDictionary<string, string>? ucastDigests)
    {
        ArgumentNullException.ThrowIfNull(logicalSwitches);
        ArgumentNullException.ThrowIfNull(vlanBindings);
        ArgumentNullException.ThrowIfNull(ucastRemotes);
        ArgumentNullException.ThrowIfNull(mcastRemotes);
        Switch = @switch;
        LogicalSwitches = [.. logicalSwitches.OrderBy(l => l.Name, StringComparer.Ordinal)];
        VlanBindings = [.. vlanBindings.OrderBy(b => b.Port, StringComparer.Ordinal).ThenBy(b => b.Vlan)];
        UcastRemotes = Sorted(ucastRemotes);
        McastRemotes = [.. mcastRemotes.OrderBy(m => m.LogicalSwitch, StringComparer.Ordinal)];
        Revision = Digest(ucastDigests);
    }

    public string Switch { get; }

    public IReadOnlyList<DesiredLogicalSwitch> LogicalSwitches { get; }

    public IReadOnlyList<DesiredVlanBinding> VlanBindings { get; }

    public IReadOnlyList<DesiredUcastRemote> UcastRemotes { get; }

    public IReadOnlyList<DesiredMcastRemote> McastRemotes { get; }

    public string Revision { get; }

    public static SwitchDesiredState Empty(string switchName) => new(switchName, [], [], [], []);

    // Planners hand rows over in order already; checking is linear, sorting is not.
    private static IReadOnlyList<DesiredUcastRemote> Sorted(IReadOnlyList<DesiredUcastRemote> rows)
    {
        for (var i = 1; i < rows.Count; i++)
        {
            if (UcastOrder(rows[i - 1], rows[i]) > 0)
            {
                var copy = rows.ToArray();
                Array.Sort(copy, UcastOrder);
                return copy;
            }
        }

        return rows;
    }

    /// <summary>The digest of one logical switch's remote MAC rows, in the canonical (MAC, IP) order.</summary>
    public static string DigestUcast(IEnumerable<DesiredUcastRemote> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var line = new StringBuilder();
        foreach (var u in rows)
        {
            line.Clear().Append(u.Mac).Append(' ').Append(u.IpAddress).Append(' ').Append(u.DstIp).Append('\n');
            hash.AppendData(Encoding.UTF8.GetBytes(line.ToString()));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    private string Digest(IReadOnlyDictionary<string, string>? ucastDigests)
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

        var start = 0;
        while (start < UcastRemotes.Count)
        {
            var ls = UcastRemotes[start].LogicalSwitch;
            var end = start;
            while (end < UcastRemotes.Count && UcastRemotes[end].LogicalSwitch == ls)
            {
                end++;
            }

            var digest = ucastDigests is not null && ucastDigests.TryGetValue(ls, out var known)
                ? known
                : DigestUcast(Range(start, end));
            text.Append("U ").Append(ls).Append(' ').Append(digest).Append('\n');
            start = end;
        }

        foreach (var m in McastRemotes)
        {
            text.Append("M ").Append(m.LogicalSwitch).Append(' ').Append(string.Join(',', m.DstIps)).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    private IEnumerable<DesiredUcastRemote> Range(int start, int end)
    {
        for (var i = start; i < end; i++)
        {
            yield return UcastRemotes[i];
        }
    }
}
