using System.Globalization;
using L2Gateway.Core;
using L2Gateway.OpenStack.Keystone;
using L2Gateway.OpenStack.Messaging;

namespace L2Gateway.Agent;

/// <summary>One switch database the agent serves: <c>name:ip:port</c> of the reference's <c>ovsdb_hosts</c>.</summary>
public sealed record OvsdbHost(string Name, string Address, int Port);

/// <summary>
/// The agent's settings, compatible with the reference's <c>l2gateway_agent.ini</c> <c>[ovsdb]</c> section, plus
/// where the server is and the agent's host name.
/// </summary>
public sealed class AgentOptions
{
    public string Host { get; set; } = Environment.MachineName;

    /// <summary>The servers, in the order they are tried: the agent stays with one until it fails, then moves to the next.</summary>
    public IReadOnlyList<Uri> ServerUrls { get; set; } = [new("http://127.0.0.1:9696")];

    /// <summary>The first of <see cref="ServerUrls"/>; setting it makes it the only one.</summary>
    public Uri ServerUrl
    {
        get => ServerUrls[0];
        set => ServerUrls = [value];
    }

    public IReadOnlyList<OvsdbHost> OvsdbHosts { get; set; } = [];

    public string? PrivateKeyBasePath { get; set; }

    public string? CertificateBasePath { get; set; }

    public string? CaCertificateBasePath { get; set; }

    /// <summary>Seconds between heartbeats and full reconciliation passes (the reference's periodic_interval).</summary>
    public int PeriodicInterval { get; set; } = 20;

    /// <summary>Seconds of silence on a switch connection before an echo probe, and then before it is dead.</summary>
    public int SocketTimeout { get; set; } = 30;

    public bool EnableManager { get; set; }

    public int ManagerTableListeningPort { get; set; } = 6632;

    /// <summary>The address the passive-mode listener binds (all addresses, as the reference does).</summary>
    public string ManagerTableListeningAddress { get; set; } = "0.0.0.0";

    public int MaxConnectionRetries { get; set; } = 10;

    /// <summary>The agent's Keystone password credentials (<c>[keystone_authtoken]</c>), for a server under auth_strategy=keystone.</summary>
    public KeystoneCredentials? Keystone { get; set; }

    /// <summary>The cloud's RabbitMQ (<c>[DEFAULT] transport_url</c>): when set, the agent reports its state to Neutron.</summary>
    public TransportUrl? TransportUrl { get; set; }

    /// <summary>Seconds between two reports to Neutron (<c>[AGENT] report_interval</c>, Neutron's default 30).</summary>
    public double ReportInterval { get; set; } = 30;

    /// <summary>Whether TLS files are configured for every switch (the reference uses TLS only when all three are).</summary>
    public bool UseTls => PrivateKeyBasePath is { Length: > 0 } && CertificateBasePath is { Length: > 0 } && CaCertificateBasePath is { Length: > 0 };

    /// <summary>
    /// The reference's per-switch TLS files of a switch: <c>BASE/NAME.key</c>, <c>BASE/NAME.cert</c>,
    /// <c>BASE/NAME.ca_cert</c>.
    /// </summary>
    public (string PrivateKey, string Certificate, string CaCertificate) TlsFiles(string switchName) =>
        (Path.Combine(PrivateKeyBasePath ?? "", switchName + ".key"),
         Path.Combine(CertificateBasePath ?? "", switchName + ".cert"),
         Path.Combine(CaCertificateBasePath ?? "", switchName + ".ca_cert"));

    /// <summary>
    /// In passive mode a switch that dials in is known by its address only: the <c>ovsdb_hosts</c> entry with that
    /// address names it (and so its TLS files), as in the reference. Null when no entry has that address.
    /// </summary>
    public OvsdbHost? HostAt(System.Net.IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var peer = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        return OvsdbHosts.FirstOrDefault(h => System.Net.IPAddress.TryParse(h.Address, out var a) && (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).Equals(peer));
    }

    /// <summary>The endpoint of a switch database: <c>ssl:</c> when TLS files are configured, else <c>tcp:</c>.</summary>
    public string Endpoint(OvsdbHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var address = host.Address.Contains(':', StringComparison.Ordinal) ? $"[{host.Address}]" : host.Address;
        return $"{(UseTls ? "ssl" : "tcp")}:{address}:{host.Port}";
    }

    /// <summary>Parses <c>name:ip:port[,name:ip:port...]</c>.</summary>
    public static IReadOnlyList<OvsdbHost> ParseOvsdbHosts(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var result = new List<OvsdbHost>();
        foreach (var entry in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var first = entry.IndexOf(':', StringComparison.Ordinal);
            var last = entry.LastIndexOf(':');
            if (first <= 0 || last <= first
                || !int.TryParse(entry[(last + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                throw new FormatException($"invalid ovsdb_hosts entry '{entry}': expected name:ip:port");
            }

            var address = entry[(first + 1)..last].Trim('[', ']');
            if (!System.Net.IPAddress.TryParse(address, out _) && Uri.CheckHostName(address) == UriHostNameType.Unknown)
            {
                throw new FormatException($"invalid address '{address}' in ovsdb_hosts entry '{entry}'");
            }

            result.Add(new OvsdbHost(entry[..first], address, port));
        }

        if (result.Select(h => h.Name).Distinct(StringComparer.Ordinal).Count() != result.Count)
        {
            throw new FormatException("ovsdb_hosts names must be unique");
        }

        return result;
    }

    /// <summary>Parses <c>URL[,URL...]</c>: absolute http or https URLs, at least one.</summary>
    public static IReadOnlyList<Uri> ParseServerUrls(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var result = new List<Uri>();
        foreach (var url in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new FormatException($"invalid server url '{url}': expected http://HOST:PORT");
            }

            result.Add(uri);
        }

        return result.Count > 0 ? result : throw new FormatException("l2gw_server_url lists no server");
    }

    /// <summary>Builds options from an INI file's <c>SECTION:key</c> pairs.</summary>
    public static AgentOptions FromIni(IReadOnlyDictionary<string, string> ini)
    {
        ArgumentNullException.ThrowIfNull(ini);
        string? Get(string key) => ini.TryGetValue(key, out var v) && v.Length > 0 ? v : null;
        int GetInt(string key, int fallback, int min) =>
            Get(key) is { } v ? (int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= min ? n
                : throw new FormatException($"invalid {key.Replace(':', '.')} '{v}': expected an integer >= {min}")) : fallback;
        var options = new AgentOptions
        {
            Host = Get("DEFAULT:host") ?? Environment.MachineName,
            OvsdbHosts = ParseOvsdbHosts(Get("ovsdb:ovsdb_hosts") ?? ""),
            PrivateKeyBasePath = Get("ovsdb:l2_gw_agent_priv_key_base_path"),
            CertificateBasePath = Get("ovsdb:l2_gw_agent_cert_base_path"),
            CaCertificateBasePath = Get("ovsdb:l2_gw_agent_ca_cert_base_path"),
            PeriodicInterval = GetInt("ovsdb:periodic_interval", 20, 1),
            SocketTimeout = GetInt("ovsdb:socket_timeout", 30, 1),
            EnableManager = Get("ovsdb:enable_manager") is { } m && IniValues.ParseBoolean("ovsdb.enable_manager", m),
            ManagerTableListeningPort = GetInt("ovsdb:manager_table_listening_port", 6632, 1),
            MaxConnectionRetries = GetInt("ovsdb:max_connection_retries", 10, 0),
            Keystone = KeystoneCredentials.FromIni(ini),
        };
        if ((Get("DEFAULT:l2gw_server_url") ?? Get("agent:server_url")) is { } urls)
        {
            options.ServerUrls = ParseServerUrls(urls);
        }

        if (Get("DEFAULT:transport_url") is { } transportUrl)
        {
            options.TransportUrl = TransportUrl.Parse(transportUrl);
        }

        if (Get("AGENT:report_interval") is { } interval)
        {
            options.ReportInterval = double.TryParse(interval, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
                ? seconds
                : throw new FormatException($"invalid AGENT.report_interval '{interval}': expected seconds, more than 0");
        }

        options.ManagerTableListeningAddress = Get("ovsdb:manager_table_listening_address") ?? options.ManagerTableListeningAddress;
        if (!System.Net.IPAddress.TryParse(options.ManagerTableListeningAddress, out _))
        {
            throw new FormatException($"invalid manager_table_listening_address '{options.ManagerTableListeningAddress}'");
        }

        return options;
    }
}
