using System.Diagnostics.Metrics;
using System.Net.Sockets;
using L2Gateway.Core.Planning;
using L2Gateway.OpenStack.Keystone;
using L2Gateway.OpenStack.Messaging;
using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.Replication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Agent;

/// <summary>
/// The agent: a session per switch database, a long poll that brings each switch's desired state from the server,
/// and heartbeats that carry inventory and convergence back. With several servers it uses one at a time and moves to
/// the next when that one fails (<see cref="ServerLink"/>), keeping the revisions it holds: a revision is a digest of
/// the state's content, the same on every server, so the next server resends only what changed.
/// </summary>
public sealed class L2GatewayAgent : BackgroundService
{
    private const int LongPollSeconds = 25;

    private readonly AgentOptions options;
    private readonly ILogger<L2GatewayAgent> logger;
    private readonly ServerLink server;
    private readonly KeystoneTokenSource? tokens;
    private readonly List<SwitchActor> sessions = [];
    private readonly Lock sessionsLock = new();
    private readonly ILoggerFactory loggers;
    private readonly IMeterFactory? meters;
    private readonly BulkWorkCollector collector;
    private ManagerListener? manager;
    private readonly SemaphoreSlim reportNow = new(0, int.MaxValue);
    private readonly DateTime startedAt = DateTime.UtcNow;
    private TaskCompletionSource switchesChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string switchSet = "";

    // The bus the agent reports its state to Neutron on: the server's (embedded agent), or one of its own.
    private readonly IMessageBus? bus;
    private readonly RabbitBus? ownBus;

    /// <param name="meters">Where the agent's and the OVSDB library's metrics go; none when null.</param>
    /// <param name="bus">The message bus to report on; null: the agent opens its own when options name one.</param>
    /// <param name="time">The clock of the reports to Neutron (the system's by default).</param>
    public L2GatewayAgent(AgentOptions options, ILoggerFactory loggers, IMeterFactory? meters = null, IMessageBus? bus = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        this.options = options;
        this.loggers = loggers;
        this.meters = meters;
        logger = loggers.CreateLogger<L2GatewayAgent>();
        collector = new BulkWorkCollector(loggers.CreateLogger<BulkWorkCollector>());
        if (bus is null && options.TransportUrl is not null)
        {
            bus = ownBus = new RabbitBus(options.TransportUrl, "l2gw-agent:" + options.Host, loggers);
        }

        this.bus = bus;
        if (bus is not null)
        {
            NeutronReporter = new NeutronStateReporter(
                bus,
                new NeutronAgentIdentity(options.Host, [.. options.OvsdbHosts.Select(h => h.Name)], TimeSpan.FromSeconds(options.ReportInterval), Guid.NewGuid()),
                time ?? TimeProvider.System,
                loggers.CreateLogger("L2Gateway.Agent.NeutronState"));
        }

        tokens = options.Keystone is null ? null : new KeystoneTokenSource(options.Keystone);
        server = new ServerLink(options.ServerUrls, tokens);
        // In passive mode the switches dial in; ovsdb_hosts then only names them by address (for their TLS files).
        if (!options.EnableManager)
        {
            foreach (var host in options.OvsdbHosts)
            {
                AddSession(host, options.Endpoint(host), null);
            }
        }
    }

    /// <summary>The reports to Neutron over the bus; null without a bus.</summary>
    public NeutronStateReporter? NeutronReporter { get; }

    public IReadOnlyList<SwitchActor> Sessions
    {
        get
        {
            lock (sessionsLock)
            {
                return [.. sessions];
            }
        }
    }

    /// <summary>The passive-mode listener's address, once it listens.</summary>
    public System.Net.IPEndPoint? ManagerEndPoint => manager?.LocalEndPoint;

    private SwitchActor AddSession(OvsdbHost host, string endpoint, Func<CancellationToken, Task<OvsdbClient>>? connect)
    {
        var replicaOptions = new OvsdbReplicaOptions
        {
            Client = new OvsdbClientOptions
            {
                InactivityProbe = TimeSpan.FromSeconds(options.SocketTimeout),

                // The reconciler builds its operations from the schema's own names and types; checking each of
                // 100,000 inserts again costs more than the database takes to refuse a wrong one.
                ValidateOperations = false,
                PrivateKeyFile = options.UseTls ? options.TlsFiles(host.Name).PrivateKey : null,
                CertificateFile = options.UseTls ? options.TlsFiles(host.Name).Certificate : null,
                CaCertificateFile = options.UseTls ? options.TlsFiles(host.Name).CaCertificate : null,
                MeterFactory = meters,
            },
            ReconnectInitialDelay = TimeSpan.FromMilliseconds(200),
            ReconnectMaxDelay = TimeSpan.FromSeconds(Math.Min(options.PeriodicInterval, 10)),

            // A switch that stays away is reported unreachable, never abandoned: it gets its state when it returns.
            MaxReconnectAttempts = -1,
            Connect = connect,
        };
        var session = new SwitchActor(host, endpoint, replicaOptions, TimeSpan.FromSeconds(options.PeriodicInterval), loggers.CreateLogger("L2Gateway.Agent." + host.Name), meters: meters, collector: collector);
        session.Changed += OnSessionChanged;
        lock (sessionsLock)
        {
            sessions.Add(session);
        }

        return session;
    }

    private void OnSessionChanged()
    {
        reportNow.Release();
        var names = string.Join(",", Sessions.SelectMany(s => s.SwitchNames).Order(StringComparer.Ordinal));
        if (names != Volatile.Read(ref switchSet))
        {
            Volatile.Write(ref switchSet, names);
            Interlocked.Exchange(ref switchesChanged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation(
            "l2gw agent {Host} serving {Count} switch database(s), servers {Servers}", options.Host, Sessions.Count, string.Join(", ", options.ServerUrls));
        foreach (var session in Sessions)
        {
            session.Start();
        }

        var loops = new List<Task> { DesiredStateLoopAsync(stoppingToken), ReportLoopAsync(stoppingToken) };
        if (NeutronReporter is not null)
        {
            ownBus?.Start();
            loops.Add(NeutronReporter.RunAsync(stoppingToken));
        }

        if (options.EnableManager)
        {
            var endpoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(options.ManagerTableListeningAddress), options.ManagerTableListeningPort);
            var listener = new ManagerListener(endpoint, new OvsdbClientOptions { InactivityProbe = TimeSpan.FromSeconds(options.SocketTimeout), ValidateOperations = false, MeterFactory = meters }, options.UseTls ? TlsFor : null, logger);
            listener.SwitchArrived += (name, peer) =>
            {
                var session = AddSession(new OvsdbHost(name, peer, 0), peer, ct => listener.NextAsync(name, ct));
                session.Start();
                OnSessionChanged();
            };
            listener.Start();
            manager = listener; // published once it listens
            logger.LogInformation("listening for switches on {Endpoint} (enable_manager)", manager.LocalEndPoint);
            loops.Add(manager.RunAsync(stoppingToken));
        }

        await Task.WhenAll(loops);
    }

    // Passive mode over TLS: the switch that dials in is named by its address in ovsdb_hosts, and accepted with
    // that switch's files. Files are read at each connection, so replaced certificates apply without a restart.
    private OvsdbServerTls? TlsFor(System.Net.IPEndPoint peer)
    {
        if (options.HostAt(peer.Address) is not { } host)
        {
            logger.LogWarning("a switch at {Peer} dialled in over TLS but no ovsdb_hosts entry has that address; refused", peer);
            return null;
        }

        var (key, cert, ca) = options.TlsFiles(host.Name);
        return OvsdbServerTls.FromPemFiles(key, cert, ca);
    }

    private async Task DesiredStateLoopAsync(CancellationToken stoppingToken)
    {
        var held = new Dictionary<string, SwitchDesiredState>(StringComparer.Ordinal);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            // Taken before the set is read, so that a change after the read ends this round.
            var changed = Volatile.Read(ref switchesChanged).Task;
            var owners = Sessions.SelectMany(s => s.SwitchNames.Select(n => (Name: n, Session: s)))
                .GroupBy(x => x.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(x => x.Session).ToList(), StringComparer.Ordinal);
            if (owners.Count == 0)
            {
                await changed.WaitAsync(stoppingToken);
                continue;
            }

            var request = owners.Keys.ToDictionary(n => n, n => held.GetValueOrDefault(n)?.Revision, StringComparer.Ordinal);
            using var poll = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            try
            {
                var answer = server.DesiredAsync(request, LongPollSeconds, poll.Token);
                if (await Task.WhenAny(answer, changed) != answer)
                {
                    // The set of switches changed: ask again with the new set.
                    await poll.CancelAsync();
                    try
                    {
                        await answer;
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    continue;
                }

                var batch = await answer;
                failures = 0;
                var states = batch.Switches.Select(s => (State: s, Delta: (SwitchDesiredDelta?)null)).ToList();
                foreach (var delta in batch.Deltas ?? [])
                {
                    try
                    {
                        states.Add((delta.ApplyTo(held.GetValueOrDefault(delta.Switch) ?? throw new InvalidDataException($"no state of {delta.Switch} to apply a delta to")), delta));
                    }
                    catch (InvalidDataException e)
                    {
                        // Ask for the whole state next time.
                        held.Remove(delta.Switch);
                        logger.LogWarning("desired state of {Switch}: {Error}; asking for all of it", delta.Switch, e.Message);
                    }
                }

                foreach (var (state, delta) in states)
                {
                    held[state.Switch] = state;
                    foreach (var session in owners.GetValueOrDefault(state.Switch) ?? [])
                    {
                        session.SetDesired(state, delta);
                    }
                }
            }
            catch (ServerUnavailableException e)
            {
                // The revisions held stay: the next server answers with what differs from them.
                failures++;
                logger.LogWarning("desired state from {Server} failed: {Error}; next: {Next}", e.Server, e.Message, server.Current);
                if (failures >= server.Count)
                {
                    // Every server has failed in a row: wait before going round again.
                    await Task.Delay(Backoff(failures - server.Count + 1), stoppingToken);
                }
            }
            catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException)
            {
                failures++;
                logger.LogWarning("desired state from {Server} failed: {Error}", server.Current, e.Message);
                await Task.Delay(Backoff(failures), stoppingToken);
            }
        }
    }

    private static TimeSpan Backoff(int failures) => TimeSpan.FromMilliseconds(Math.Min(10_000, 250 << Math.Min(failures, 6)));

    private async Task ReportLoopAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // After a server failed, the report goes to the next one at once, until every one has failed.
                if (failures == 0 || failures >= server.Count)
                {
                    await reportNow.WaitAsync(TimeSpan.FromSeconds(failures == 0 ? options.PeriodicInterval : 1), stoppingToken);
                }

                // Let a burst of changes settle into one report.
                await Task.Delay(50, stoppingToken);
                while (reportNow.CurrentCount > 0)
                {
                    await reportNow.WaitAsync(stoppingToken);
                }

                await server.ReportAsync(new AgentReport(options.Host, startedAt, [.. Sessions.SelectMany(s => s.Reports())]), stoppingToken);
                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (ServerUnavailableException e)
            {
                failures++;
                logger.LogWarning("heartbeat to {Server} failed: {Error}; next: {Next}", e.Server, e.Message, server.Current);
            }
            catch (HttpRequestException e)
            {
                // The server is up but refused the report: try again at the next period.
                failures = 0;
                logger.LogWarning("heartbeat to {Server} failed: {Error}", server.Current, e.Message);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (var session in Sessions)
        {
            await session.DisposeAsync();
        }

        await collector.DisposeAsync();
        if (manager is not null)
        {
            await manager.DisposeAsync();
        }

        if (ownBus is not null)
        {
            await ownBus.DisposeAsync();
        }
    }

    public override void Dispose()
    {
        // Its loop ends at once when cancelled; after StopAsync this is a no-op.
        collector.DisposeAsync().AsTask().GetAwaiter().GetResult();
        server.Dispose();
        tokens?.Dispose();
        reportNow.Dispose();
        base.Dispose();
    }
}
