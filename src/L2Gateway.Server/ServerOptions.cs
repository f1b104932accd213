namespace L2Gateway.Server;

public enum AuthStrategy
{
    NoAuth,
    Keystone,
}

/// <summary>Everything the server is configured with; see docs/configuration.md for each option's sources.</summary>
public sealed class ServerOptions
{
    public string Bind { get; set; } = "127.0.0.1:9696";

    public string DataDir { get; set; } = "data";

    /// <summary><c>sqlite:///path</c> or <c>postgresql://...</c>; empty means SQLite in <see cref="DataDir"/>.</summary>
    public string? Database { get; set; }

    public AuthStrategy AuthStrategy { get; set; } = AuthStrategy.NoAuth;

    /// <summary>Allows noauth on a non-loopback bind, which otherwise is refused.</summary>
    public bool ForceNoAuth { get; set; }

    /// <summary>Gateways per project; -1 is unlimited.</summary>
    public int QuotaL2Gateway { get; set; } = 5;

    public string? PolicyFile { get; set; }

    /// <summary>Keystone's public endpoint (e.g. <c>http://keystone:5000</c>) for <c>auth_strategy = keystone</c>.</summary>
    public string? KeystoneUrl { get; set; }

    /// <summary>Seconds a validated token is trusted before Keystone is asked again (keystonemiddleware's token_cache_time); -1: never cached.</summary>
    public int TokenCacheTime { get; set; } = 300;

    /// <summary>The cloud's RabbitMQ (oslo.messaging <c>transport_url</c>); null: no bus (no l2population, no report_state).</summary>
    public string? TransportUrl { get; set; }

    /// <summary>Seconds between two full re-sends of the l2population entries to every OVS agent.</summary>
    public int L2PopResyncInterval { get; set; } = 30;

    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Seconds without a heartbeat after which an agent is shown as dead (Neutron's agent_down_time).</summary>
    public int AgentDownTime { get; set; } = 75;

    /// <summary>Apply pending migrations at start (the embedded default); off when operators run <c>l2gw db upgrade</c>.</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>Every <c>SECTION:key</c> of the config file, for the parts of the program configured there too (the agent).</summary>
    public IReadOnlyDictionary<string, string> ConfigFile { get; set; } = new Dictionary<string, string>();

    public string DatabaseUrl => string.IsNullOrEmpty(Database)
        ? "sqlite:///" + Path.GetFullPath(Path.Combine(DataDir, "l2gw.sqlite")).TrimStart('/')
        : Database;
}
