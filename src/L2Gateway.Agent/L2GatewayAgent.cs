using System.Net.Sockets;
using L2Gateway.Core.Planning;
using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.Replication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Agent;

/// <summary>
/// The agent: a session per switch database, a long poll that brings each switch's desired state from the server
/// (resynchronising fully after any failure), and heartbeats that carry inventory and convergence back.
/// </summary>
public sealed class L2GatewayAgent : BackgroundService
{
    private const int LongPollSeconds = 25;

    private readonly AgentOptions options;
    private readonly ILogger<L2GatewayAgent> logger;
    private readonly ServerLink server;
    private readonly List<SwitchSession> sessions = [];
    private readonly SemaphoreSlim reportNow = new(0, int.MaxValue);
    private readonly DateTime startedAt = DateTime.UtcNow;
    private CancellationTokenSource switchesChanged = new();
    private string switchSet = "";

    public L2GatewayAgent(AgentOptions options, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        this.options = options;
        logger = loggers.CreateLogger<L2GatewayAgent>();
        server = new ServerLink(options.ServerUrl);
        foreach (var host in options.OvsdbHosts)
        {
            var replicaOptions = new OvsdbReplicaOptions
            {
                Client = new OvsdbClientOptions
                {
                    InactivityProbe = TimeSpan.FromSeconds(options.SocketTimeout),
                    PrivateKeyFile = options.UseTls ? Path.Combine(options.PrivateKeyBasePath!, host.Name + ".key") : null,
                    CertificateFile = options.UseTls ? Path.Combine(options.CertificateBasePath!, host.Name + ".cert") : null,
                    CaCertificateFile = options.UseTls ? Path.Combine(options.CaCertificateBasePath!, host.Name + ".ca_cert") : null,
                },
                ReconnectInitialDelay = TimeSpan.FromMilliseconds(200),
                ReconnectMaxDelay = TimeSpan.FromSeconds(Math.Min(options.PeriodicInterval, 10)),

                // A switch that stays away is reported unreachable, never abandoned: it gets its state when it returns.
                MaxReconnectAttempts = -1,
            };
            var session = new SwitchSession(host, options.Endpoint(host), replicaOptions, TimeSpan.FromSeconds(options.PeriodicInterval), loggers.CreateLogger("L2Gateway.Agent." + host.Name));
            session.Changed += OnSessionChanged;
            sessions.Add(session);
        }
    }

    public IReadOnlyList<SwitchSession> Sessions => sessions;

    private void OnSessionChanged()
    {
        reportNow.Release();
        var names = string.Join(",", sessions.SelectMany(s => s.SwitchNames).Order(StringComparer.Ordinal));
        if (names != Volatile.Read(ref switchSet))
        {
            Volatile.Write(ref switchSet, names);
            switchesChanged.Cancel();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("l2gw agent {Host} serving {Count} switch database(s), server {Server}", options.Host, sessions.Count, options.ServerUrl);
        foreach (var session in sessions)
        {
            await session.StartAsync();
        }

        await Task.WhenAll(DesiredStateLoopAsync(stoppingToken), ReportLoopAsync(stoppingToken));
    }

    private async Task DesiredStateLoopAsync(CancellationToken stoppingToken)
    {
        var known = new Dictionary<string, string?>(StringComparer.Ordinal);
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var owners = sessions.SelectMany(s => s.SwitchNames.Select(n => (Name: n, Session: s)))
                .GroupBy(x => x.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(x => x.Session).ToList(), StringComparer.Ordinal);
            if (owners.Count == 0)
            {
                await WaitForSwitchesAsync(stoppingToken);
                continue;
            }

            var request = owners.Keys.ToDictionary(n => n, n => known.GetValueOrDefault(n), StringComparer.Ordinal);
            Interlocked.Exchange(ref switchesChanged, new CancellationTokenSource());
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, switchesChanged.Token);
            try
            {
                var batch = await server.DesiredAsync(request, LongPollSeconds, linked.Token);
                failures = 0;
                foreach (var state in batch.Switches)
                {
                    known[state.Switch] = state.Revision;
                    foreach (var session in owners.GetValueOrDefault(state.Switch) ?? [])
                    {
                        session.SetDesired(state);
                    }
                }
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // The set of switches changed: ask again with the new set.
            }
            catch (Exception e) when (e is HttpRequestException or SocketException or System.Text.Json.JsonException or TaskCanceledException)
            {
                // Lost the server: forget what it said, so that the next answer is a full resync.
                known.Clear();
                failures++;
                logger.LogWarning("desired state from {Server} failed: {Error}", options.ServerUrl, e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(10_000, 250 << Math.Min(failures, 6))), stoppingToken);
            }
        }
    }

    private async Task WaitForSwitchesAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, switchesChanged.Token);
            await Task.Delay(TimeSpan.FromMilliseconds(500), linked.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ReportLoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await reportNow.WaitAsync(TimeSpan.FromSeconds(options.PeriodicInterval), stoppingToken);

                // Let a burst of changes settle into one report.
                await Task.Delay(50, stoppingToken);
                while (reportNow.CurrentCount > 0)
                {
                    await reportNow.WaitAsync(stoppingToken);
                }

                await server.ReportAsync(new AgentReport(options.Host, startedAt, [.. sessions.SelectMany(s => s.Reports())]), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is HttpRequestException or SocketException or TaskCanceledException)
            {
                logger.LogWarning("heartbeat to {Server} failed: {Error}", options.ServerUrl, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (var session in sessions)
        {
            await session.DisposeAsync();
        }
    }

    public override void Dispose()
    {
        server.Dispose();
        reportNow.Dispose();
        switchesChanged.Dispose();
        base.Dispose();
    }
}
