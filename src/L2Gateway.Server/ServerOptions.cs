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

    /// <summary>Neutron's API root (<c>[neutron] url</c>), e.g. <c>http://neutron:9696</c>.</summary>
    public string? NeutronUrl { get; set; }

    /// <summary>Serve the cloud's network endpoint: answer L2 gateway calls, forward every other <c>/v2.0</c> call to Neutron.</summary>
    public bool NeutronProxy { get; set; }
    /// <summary>The cloud's RabbitMQ (oslo.messaging <c>transport_url</c>); null: no bus (no l2population, no report_state).</summary>
    public string? TransportUrl { get; set; }

    /// <summary>Seconds between two full re-sends of the l2population entries to every OVS agent.</summary>
    public int L2PopResyncInterval { get; set; } = 30;

    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Seconds without a heartbeat after which an agent is shown as dead (Neutron's agent_down_time).</summary>
    public int AgentDownTime { get; set; } = 75;

    /// <summary>
    /// Seconds between full reloads of the planner's inputs from the database: a safety net only, since this
    /// server's writes and (on PostgreSQL) the other servers' notified writes are applied as they commit.
    /// </summary>
    public int FullReloadInterval { get; set; } = 60;

    /// <summary>Apply pending migrations at start (the embedded default); off when operators run <c>l2gw db upgrade</c>.</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>How log events are written: text (default) or json.</summary>
    public LogFormat LogFormat { get; set; } = LogFormat.Text;

    /// <summary>Where networks, ports and hosts come from: <c>standalone</c> (this server's own API) or <c>neutron</c>.</summary>
    public string Catalog { get; set; } = "standalone";

    /// <summary>Seconds between two reads of what changed in Neutron (<c>changed_since</c>) with <c>catalog = neutron</c>.</summary>
    public int NeutronPollInterval { get; set; } = 5;

    /// <summary>Seconds between two complete reads of Neutron (they catch deletions) with <c>catalog = neutron</c>.</summary>
    public int NeutronFullSyncInterval { get; set; } = 300;

    /// <summary>Every <c>SECTION:key</c> of the config file, for the parts of the program configured there too (the agent).</summary>
    public IReadOnlyDictionary<string, string> ConfigFile { get; set; } = new Dictionary<string, string>();

    public string DatabaseUrl => string.IsNullOrEmpty(Database)
        ? "sqlite:///" + Path.GetFullPath(Path.Combine(DataDir, "l2gw.sqlite")).TrimStart('/')
        : Database;
}
