using System.Net;
using System.Text;

namespace L2Gateway.Testing;

/// <summary>
/// The OpenStack lab of <c>../shared/testbed/openstack</c> (real Keystone, Neutron, RabbitMQ), which
/// <c>run-tests</c> brings up once per run. Tests read its coordinates from <c>$OSV_DIR/osv.env</c> and its users'
/// credentials from the <c>*-openrc</c> files, and run the real <c>openstack</c> client against it.
/// </summary>
internal static class OpenStackLab
{
    public static string Directory => Environment.GetEnvironmentVariable("OSV_DIR") is { Length: > 0 } d ? d : "/tmp/osvtep";

    private static readonly Lazy<Dictionary<string, string>> Coordinates = new(() => ReadExports(Path.Combine(Directory, "osv.env")));

    /// <summary>Keystone's public endpoint as the lab's catalog gives it (with <c>/v3</c>).</summary>
    public static Uri KeystoneUrl => new(Coordinates.Value["KEYSTONE"]);

    public static Uri NeutronUrl => new(Coordinates.Value["NEUTRON"]);

    /// <summary>Neutron's own database (the lab's PostgreSQL trusts local connections as <c>postgres</c>).</summary>
    public static string NeutronDatabaseUrl =>
        $"postgresql://postgres@127.0.0.1:{(Environment.GetEnvironmentVariable("OSV_PG_PORT") is { Length: > 0 } port ? port : "55450")}/neutron";

    /// <summary>The lab's RabbitMQ as an oslo.messaging transport URL (<c>rabbit://guest:guest@127.0.0.1:PORT/</c>).</summary>
    public static string RabbitUrl => Coordinates.Value["RABBIT"];

    /// <summary>The emulated hardware VTEP's OVSDB endpoint (<c>tcp:127.0.0.1:PORT</c>).</summary>
    public static string TorDatabase => Coordinates.Value["TOR_DB"];

    /// <summary>The VNI the lab was proven with (its own networks are not created unless prove.sh runs).</summary>
    public static int Vni => int.Parse(Coordinates.Value["VNI"], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The compute host of the lab's neutron-openvswitch-agent (<c>binding:host_id</c> of its ports).</summary>
    public static string AgentHost => Coordinates.Value["AHOST"];

    /// <summary>The emulated hardware VTEP's tunnel IP (its Physical_Locator towards the compute host).</summary>
    public static IPAddress TorTunnelIp => IPAddress.Parse(Coordinates.Value["TOR_IP"]);

    /// <summary>The OVS agent's br-tun port to the ToR: <c>vxlan-</c> and the tunnel IP's bytes in hex.</summary>
    public static string TorTunnelPort =>
        "vxlan-" + string.Concat(TorTunnelIp.GetAddressBytes().Select(b => b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture)));

    /// <summary>A network namespace of the lab: <c>cmp</c> (the compute host), <c>bm</c> (the bare-metal server), <c>tor</c>.</summary>
    public static string Namespace(string role) => Coordinates.Value["PX"] + "-" + role;

    /// <summary>The <c>OS_*</c> variables of a lab user: <c>admin</c> or <c>demo</c>.</summary>
    public static Dictionary<string, string> Credentials(string user) => ReadExports(Path.Combine(Directory, user + "-openrc"));

    private static Dictionary<string, string> ReadExports(string file)
    {
        if (!File.Exists(file))
        {
            throw new InvalidOperationException(
                $"the OpenStack lab is not up ({file} is missing): run-tests brings it up with ../shared/testbed/openstack/up.sh");
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(file))
        {
            foreach (var word in line.Replace("export ", "", StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = word.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    values[word[..eq]] = word[(eq + 1)..];
                }
            }
        }

        return values;
    }

    /// <summary>Runs the real <c>openstack</c> client as <paramref name="user"/>; returns its output, or fails the test.</summary>
    public static async Task<string> OpenStackAsync(string user, params string[] args)
    {
        var result = await ChildProcess.RunAsync("/usr/bin/python3", ["/usr/bin/openstack", .. args], TimeSpan.FromMinutes(2), start =>
        {
            foreach (var (key, value) in Credentials(user))
            {
                start.Environment[key] = value;
            }
        });
        return result.Exit == 0
            ? result.Out.Trim()
            : throw new InvalidOperationException($"openstack {string.Join(' ', args)} failed ({result.Exit}): {result.Err}");
    }

    /// <summary>A new token of <paramref name="user"/>, issued by Keystone through the openstack client.</summary>
    public static Task<string> IssueTokenAsync(string user) => OpenStackAsync(user, "token", "issue", "-f", "value", "-c", "id");

    public static Task RevokeTokenAsync(string token) => OpenStackAsync("admin", "token", "revoke", token);

    /// <summary>The id of a lab project (<c>admin</c>, <c>demo</c>, <c>service</c>).</summary>
    public static Task<string> ProjectIdAsync(string name) => OpenStackAsync("admin", "project", "show", name, "-f", "value", "-c", "id");

    public static string Ini(params (string Section, string Key, string Value)[] entries)
    {
        var text = new StringBuilder();
        foreach (var section in entries.GroupBy(e => e.Section))
        {
            text.Append('[').Append(section.Key).Append("]\n");
            foreach (var (_, key, value) in section)
            {
                text.Append(key).Append(" = ").Append(value).Append('\n');
            }
        }

        return text.ToString();
    }
}
