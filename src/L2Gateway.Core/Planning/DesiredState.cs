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
    internal static readonly Comparison<DesiredUcastRemote> UcastOrder = (a, b) =>
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
        IReadOnlyList<DesiredMcastRemote> mcastRemotes,
        IReadOnlyDictionary<string, string>? ucastDigests = null)
    {
        ArgumentNullException.ThrowIfNull(logicalSwitches);
        ArgumentNullException.ThrowIfNull(vlanBindings);
        ArgumentNullException.ThrowIfNull(ucastRemotes);
        ArgumentNullException.ThrowIfNull(mcastRemotes);
        Switch = @switch;
        LogicalSwitches = [.. logicalSwitches.OrderBy(l => l.Name, StringComparer.Ordinal)];
        VlanBindings = [.. vlanBindings.OrderBy(b => b.Port, StringComparer.Ordinal).ThenBy(b => b.Vlan)];
        UcastRemotes = ucastArray = Sorted(ucastRemotes);
        McastRemotes = [.. mcastRemotes.OrderBy(m => m.LogicalSwitch, StringComparer.Ordinal)];
        ucastRanges = new Dictionary<string, (int Start, int End)>(StringComparer.Ordinal);
        var digests = new Dictionary<string, string>(StringComparer.Ordinal);
        var start = 0;
        while (start < UcastRemotes.Count)
        {
            var ls = UcastRemotes[start].LogicalSwitch;
            var end = start;
            while (end < UcastRemotes.Count && string.Equals(UcastRemotes[end].LogicalSwitch, ls, StringComparison.Ordinal))
            {
                end++;
            }

            ucastRanges[ls] = (start, end);
            digests[ls] = ucastDigests is not null && ucastDigests.TryGetValue(ls, out var known) ? known : DigestUcast(Range(start, end));
            start = end;
        }

        UcastDigests = digests;
        Revision = Digest();
    }

    public string Switch { get; }

    public IReadOnlyList<DesiredLogicalSwitch> LogicalSwitches { get; }

    public IReadOnlyList<DesiredVlanBinding> VlanBindings { get; }

    [System.Text.Json.Serialization.JsonConverter(typeof(UcastRowsWireForm))]
    public IReadOnlyList<DesiredUcastRemote> UcastRemotes { get; }

    public IReadOnlyList<DesiredMcastRemote> McastRemotes { get; }

    public string Revision { get; }

    /// <summary>Each logical switch's <see cref="DigestUcast"/>: what an agent compares to find the networks that changed.</summary>
    public IReadOnlyDictionary<string, string> UcastDigests { get; }

    private readonly Dictionary<string, (int Start, int End)> ucastRanges;
    private readonly DesiredUcastRemote[] ucastArray;

    /// <summary>The remote MAC rows of one logical switch, in (MAC, IP) order.</summary>
    public ArraySegment<DesiredUcastRemote> UcastOf(string logicalSwitch)
    {
        if (!ucastRanges.TryGetValue(logicalSwitch, out var range))
        {
            return ArraySegment<DesiredUcastRemote>.Empty;
        }

        return new ArraySegment<DesiredUcastRemote>(ucastArray, range.Start, range.End - range.Start);
    }

    /// <summary>The remote MAC row with this key, if the state has it.</summary>
    public DesiredUcastRemote? FindUcast(DesiredUcastKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var rows = UcastOf(key.LogicalSwitch);
        int lo = 0, hi = rows.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var c = string.CompareOrdinal(rows[mid].Mac, key.Mac);
            c = c != 0 ? c : string.CompareOrdinal(rows[mid].IpAddress, key.IpAddress);
            if (c == 0)
            {
                return rows[mid];
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

        return null;
    }

    /// <summary>
    /// The logical switches whose rows differ between <paramref name="before"/> and this state (including those
    /// only one of them has): what an agent has to look at again when the state changes.
    /// </summary>
    public IReadOnlySet<string> ChangedLogicalSwitches(SwitchDesiredState? before)
    {
        var all = new HashSet<string>(StringComparer.Ordinal);
        all.UnionWith(LogicalSwitches.Select(l => l.Name));
        all.UnionWith(McastRemotes.Select(m => m.LogicalSwitch));
        all.UnionWith(UcastDigests.Keys);
        if (before is null)
        {
            return all;
        }

        all.UnionWith(before.LogicalSwitches.Select(l => l.Name));
        all.UnionWith(before.McastRemotes.Select(m => m.LogicalSwitch));
        all.UnionWith(before.UcastDigests.Keys);
        var lsNow = LogicalSwitches.ToDictionary(l => l.Name, StringComparer.Ordinal);
        var lsBefore = before.LogicalSwitches.ToDictionary(l => l.Name, StringComparer.Ordinal);
        var mcastNow = McastRemotes.ToDictionary(m => m.LogicalSwitch, StringComparer.Ordinal);
        var mcastBefore = before.McastRemotes.ToDictionary(m => m.LogicalSwitch, StringComparer.Ordinal);
        all.RemoveWhere(ls =>
            Equals(lsNow.GetValueOrDefault(ls), lsBefore.GetValueOrDefault(ls))
            && UcastDigests.GetValueOrDefault(ls) == before.UcastDigests.GetValueOrDefault(ls)
            && (mcastNow.GetValueOrDefault(ls)?.DstIps ?? []).SequenceEqual(mcastBefore.GetValueOrDefault(ls)?.DstIps ?? [], StringComparer.Ordinal));
        return all;
    }

    public static SwitchDesiredState Empty(string switchName) => new(switchName, [], [], [], []);

    // Planners hand rows over in order already; checking is linear, sorting is not.
    private static DesiredUcastRemote[] Sorted(IReadOnlyList<DesiredUcastRemote> rows)
    {
        var array = rows as DesiredUcastRemote[] ?? [.. rows];
        for (var i = 1; i < array.Length; i++)
        {
            if (UcastOrder(array[i - 1], array[i]) > 0)
            {
                var copy = (DesiredUcastRemote[])array.Clone();
                Array.Sort(copy, UcastOrder);
                return copy;
            }
        }

        return array;
    }

    /// <summary>The digest of one logical switch's remote MAC rows, in the canonical (MAC, IP) order.</summary>
    public static string DigestUcast(IEnumerable<DesiredUcastRemote> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[16 * 1024];
        var used = 0;
        foreach (var u in rows)
        {
            var need = Encoding.UTF8.GetMaxByteCount(u.Mac.Length + u.IpAddress.Length + u.DstIp.Length + 3);
            if (buffer.Length - used < need)
            {
                hash.AppendData(buffer, 0, used);
                used = 0;
                if (buffer.Length < need)
                {
                    buffer = new byte[need];
                }
            }

            used += Encoding.UTF8.GetBytes(u.Mac, buffer.AsSpan(used));
            buffer[used++] = (byte)' ';
            used += Encoding.UTF8.GetBytes(u.IpAddress, buffer.AsSpan(used));
            buffer[used++] = (byte)' ';
            used += Encoding.UTF8.GetBytes(u.DstIp, buffer.AsSpan(used));
            buffer[used++] = (byte)'\n';
        }

        hash.AppendData(buffer, 0, used);
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..16];
    }

    // The digest of one text, "SWITCH\nL ...\nB ...\nU ...\nM LS IP,IP,...\n", hashed as it is written (a flood list
    // of a network spanning 1,000 switches is 1,000 IPs, for each of them: no string of it is built).
    private string Digest()
    {
        using var text = new HashedText();
        text.Append(Switch).Append('\n');
        foreach (var l in LogicalSwitches)
        {
            text.Append("L ").Append(l.Name).Append(' ').Append(l.TunnelKey).Append(' ').Append(l.Description).Append('\n');
        }

        foreach (var b in VlanBindings)
        {
            text.Append("B ").Append(b.Port).Append(' ').Append(b.Vlan).Append(' ').Append(b.LogicalSwitch).Append('\n');
        }

        foreach (var (ls, digest) in UcastDigests.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            text.Append("U ").Append(ls).Append(' ').Append(digest).Append('\n');
        }

        foreach (var m in McastRemotes)
        {
            text.Append("M ").Append(m.LogicalSwitch).Append(' ');
            for (var i = 0; i < m.DstIps.Count; i++)
            {
                (i > 0 ? text.Append(',') : text).Append(m.DstIps[i]);
            }

            text.Append('\n');
        }

        return Convert.ToHexStringLower(text.Hash())[..16];
    }

    /// <summary>UTF-8 text fed to SHA-256 through one small buffer.</summary>
    private sealed class HashedText : IDisposable
    {
        private readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private byte[] buffer = new byte[4096];
        private int used;

        public HashedText Append(string value)
        {
            var need = Encoding.UTF8.GetMaxByteCount(value.Length);
            if (buffer.Length - used < need)
            {
                Flush();
                if (buffer.Length < need)
                {
                    buffer = new byte[need];
                }
            }

            used += Encoding.UTF8.GetBytes(value, buffer.AsSpan(used));
            return this;
        }

        public HashedText Append(char value)
        {
            if (buffer.Length - used < 4)
            {
                Flush();
            }

            used += Encoding.UTF8.GetBytes(new ReadOnlySpan<char>(in value), buffer.AsSpan(used));
            return this;
        }

        public HashedText Append(int value) => Append(value.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public byte[] Hash()
        {
            Flush();
            return hash.GetHashAndReset();
        }

        private void Flush()
        {
            hash.AppendData(buffer, 0, used);
            used = 0;
        }

        public void Dispose() => hash.Dispose();
    }

    private IEnumerable<DesiredUcastRemote> Range(int start, int end)
    {
        for (var i = start; i < end; i++)
        {
            yield return UcastRemotes[i];
        }
    }
}
