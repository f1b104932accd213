using System.Diagnostics;
using System.Text.RegularExpressions;
using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.Protocol;

namespace L2Gateway.OpenStack.Bench;

/// <summary>
/// The switch as an OVSDB monitor shows it (the product's own client, RFC 7047 <c>monitor</c>): when each remote MAC row
/// first arrived, and which Logical_Switch rows exist. Times are taken as each update is handed to the monitor's callback.
/// </summary>
internal sealed class TorWatch : IAsyncDisposable
{
    private readonly OvsdbClient client;
    private readonly Signal changed = new();
    private readonly object gate = new();
    private readonly Dictionary<string, long> firstSeen = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<Guid, string> switches = [];

    private TorWatch(OvsdbClient client) => this.client = client;

    public static async Task<TorWatch> StartAsync(string endpoint)
    {
        var client = await OvsdbClient.ConnectAsync(endpoint);
        var watch = new TorWatch(client);
        var initial = await client.MonitorAsync(
            "hardware_vtep",
            "osbench",
            [new MonitorRequest("Ucast_Macs_Remote") { Columns = ["MAC"] }, new MonitorRequest("Logical_Switch") { Columns = ["name"] }],
            MonitorMethod.Monitor,
            watch.OnUpdate);
        watch.OnUpdate(initial);
        return watch;
    }

    private void OnUpdate(MonitorUpdate update)
    {
        var at = Stopwatch.GetTimestamp();
        lock (gate)
        {
            foreach (var (table, rows) in update.Updates.Tables)
            {
                foreach (var row in rows)
                {
                    if (table == "Ucast_Macs_Remote" && row.New is { } mac)
                    {
                        firstSeen.TryAdd(mac["MAC"].Single.AsString(), at);
                    }
                    else if (table == "Logical_Switch")
                    {
                        if (row.New is { } ls)
                        {
                            switches[row.Uuid] = ls["name"].Single.AsString();
                        }
                        else
                        {
                            switches.Remove(row.Uuid);
                        }
                    }
                }
            }
        }

        changed.Pulse();
    }

    public long? MacSeen(string mac)
    {
        lock (gate)
        {
            return firstSeen.TryGetValue(mac, out var at) ? at : null;
        }
    }

    public bool HasSwitch(string name)
    {
        lock (gate)
        {
            return switches.ContainsValue(name);
        }
    }

    public Task<bool> TryWaitAsync(Func<bool> holds, TimeSpan timeout) => changed.WaitAsync(holds, timeout);

    public async Task WaitAsync(Func<bool> holds, TimeSpan timeout, string what)
    {
        if (!await changed.WaitAsync(holds, timeout))
        {
            throw new TimeoutException($"never happened within {timeout.TotalSeconds} s: {what}");
        }
    }

    public ValueTask DisposeAsync() => client.DisposeAsync();
}

/// <summary>
/// The OVS agent's br-tun: its ports from the compute host's OVSDB (Interface name and ofport, the product's own client over
/// the lab's unix socket) and its table 22 flows from an OpenFlow flow monitor (<c>ovs-ofctl monitor ... watch:table=22</c>),
/// each change timed as it arrives.
/// </summary>
internal sealed partial class BrTunWatch : IAsyncDisposable
{
    private readonly OvsdbClient client;
    private readonly Process ofctl;
    private readonly string runDirectory;
    private readonly Signal changed = new();
    private readonly object gate = new();
    private readonly Dictionary<Guid, (string Name, long OfPort, long At)> interfaces = [];
    private readonly Dictionary<string, (string Actions, long At)> table22 = new(StringComparer.Ordinal);

    private BrTunWatch(OvsdbClient client, Process ofctl, string runDirectory)
    {
        this.client = client;
        this.ofctl = ofctl;
        this.runDirectory = runDirectory;
    }

    /// <summary>When the flow that <see cref="Reached"/> found was added (or last changed to what it is).</summary>
    public long? FlowSeen { get; private set; }

    public static async Task<BrTunWatch> StartAsync(Lab lab)
    {
        var run = Path.Combine(Path.GetTempPath(), "osbench-ofctl-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(run);
        var start = new ProcessStartInfo("stdbuf", ["-oL", "ovs-ofctl", "--no-names", "monitor", $"unix:{lab.Dir}/ovs/br-tun.mgmt", "watch:table=22"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["OVS_RUNDIR"] = run; // its control socket
        var ofctl = new Process { StartInfo = start };
        var client = await OvsdbClient.ConnectAsync($"unix:{lab.Dir}/ovs/db.sock");
        var watch = new BrTunWatch(client, ofctl, run);
        var initialFlows = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ofctl.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                watch.OnFlowLine(line);
                if (line.StartsWith(" event=", StringComparison.Ordinal))
                {
                    initialFlows.TrySetResult();
                }
            }
        };
        ofctl.ErrorDataReceived += (_, e) =>
        {
            // ovs-ofctl monitor prints the initial flows on stdout and the later updates on stderr.
            if (e.Data is { Length: > 0 } line && !line.Contains("terminating with signal", StringComparison.Ordinal))
            {
                if (line.StartsWith(" event=", StringComparison.Ordinal) || line.StartsWith("NXST_FLOW_MONITOR", StringComparison.Ordinal))
                {
                    watch.OnFlowLine(line);
                }
                else
                {
                    Console.Error.WriteLine("  ovs-ofctl: " + line);
                }
            }
        };
        ofctl.Start();
        ofctl.BeginOutputReadLine();
        ofctl.BeginErrorReadLine();
        var initial = await client.MonitorAsync(
            "Open_vSwitch",
            "osbench",
            [new MonitorRequest("Interface") { Columns = ["name", "ofport"] }],
            MonitorMethod.Monitor,
            watch.OnInterfaces);
        watch.OnInterfaces(initial);
        await initialFlows.Task.WaitAsync(TimeSpan.FromSeconds(10)); // table 22 always has its default drop flow
        return watch;
    }

    private void OnInterfaces(MonitorUpdate update)
    {
        var at = Stopwatch.GetTimestamp();
        lock (gate)
        {
            if (update.Updates.Tables.TryGetValue("Interface", out var rows))
            {
                foreach (var row in rows)
                {
                    if (row.New is { } iface)
                    {
                        var name = iface["name"].Single.AsString();
                        var ofport = iface["ofport"].Optional?.AsInteger() ?? -1;
                        var had = interfaces.TryGetValue(row.Uuid, out var before) && before.OfPort > 0;
                        interfaces[row.Uuid] = (name, ofport, had ? before.At : at);
                    }
                    else
                    {
                        interfaces.Remove(row.Uuid);
                    }
                }
            }
        }

        changed.Pulse();
    }

    [GeneratedRegex(@"^\s*event=(?<event>\w+)(?: reason=\S+)? table=(?<table>\d+) cookie=\S+ ?(?<rest>.*)$")]
    private static partial Regex FlowEvent();

    private void OnFlowLine(string line)
    {
        var at = Stopwatch.GetTimestamp();
        var m = FlowEvent().Match(line);
        if (!m.Success || m.Groups["table"].Value != "22")
        {
            return;
        }

        var rest = m.Groups["rest"].Value;
        var split = rest.IndexOf("actions=", StringComparison.Ordinal);
        var match = (split < 0 ? rest : rest[..split]).Trim();
        var actions = split < 0 ? "" : rest[(split + "actions=".Length)..].Trim();
        lock (gate)
        {
            if (m.Groups["event"].Value == "DELETED")
            {
                table22.Remove(match);
            }
            else if (!table22.TryGetValue(match, out var had) || had.Actions != actions)
            {
                table22[match] = (actions, at);
            }
        }

        changed.Pulse();
    }

    private long OfPort(string name) => interfaces.Values.FirstOrDefault(i => i.Name == name).OfPort;

    public long? PortSeen(string name)
    {
        lock (gate)
        {
            var iface = interfaces.Values.FirstOrDefault(i => i.Name == name && i.OfPort > 0);
            return iface.Name is null ? null : iface.At;
        }
    }

    private static bool LoadsVni(string actions, int vni) =>
        actions.Contains($"load:0x{vni:x}->NXM_NX_TUN_ID[]", StringComparison.Ordinal) || actions.Contains($"set_field:0x{vni:x}->tun_id", StringComparison.Ordinal);

    /// <summary>The tunnel port has an ofport, and a table 22 flow sets the network's VNI and outputs to it.</summary>
    public bool Reached(int vni, string tunnel)
    {
        lock (gate)
        {
            var ofport = OfPort(tunnel);
            if (ofport <= 0)
            {
                return false;
            }

            var output = new Regex($@"(^|,)output:{ofport}(,|$)", RegexOptions.CultureInvariant);
            foreach (var (actions, at) in table22.Values)
            {
                if (LoadsVni(actions, vni) && output.IsMatch(actions))
                {
                    FlowSeen = at;
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Neither the tunnel port nor any table 22 flow of the VNI is left.</summary>
    public bool Gone(int vni, string tunnel)
    {
        lock (gate)
        {
            return !interfaces.Values.Any(i => i.Name == tunnel) && !table22.Values.Any(f => LoadsVni(f.Actions, vni));
        }
    }

    public string Table22()
    {
        lock (gate)
        {
            return string.Join("; ", table22.Select(f => $"{f.Key} actions={f.Value.Actions}"));
        }
    }

    public Task<bool> TryWaitAsync(Func<bool> holds, TimeSpan timeout) => changed.WaitAsync(holds, timeout);

    public async ValueTask DisposeAsync()
    {
        if (!ofctl.HasExited)
        {
            ofctl.Kill();
            await ofctl.WaitForExitAsync();
        }

        ofctl.Dispose();
        await client.DisposeAsync();
        Directory.Delete(runDirectory, recursive: true);
    }
}
