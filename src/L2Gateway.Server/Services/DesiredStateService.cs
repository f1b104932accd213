using System.Collections.Concurrent;
using System.Diagnostics;
using L2Gateway.Core;
using L2Gateway.Core.Planning;
using L2Gateway.Server.Observability;
using L2Gateway.Server.Persistence;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Services;

/// <summary>
/// Keeps the planner's output for every switch current and wakes the agents' long polls when a switch's revision
/// changes. It holds its own copy of the planner's inputs: loaded once, then kept up to date from the rows each
/// committed write reports, so that a change costs the planning, not a reload of every table. Writes made by other
/// servers on the same PostgreSQL database arrive the same way, as rows read back after their notification
/// (<see cref="PeerChangeListener"/>). A full reload runs on a timer as a safety net, and whenever the listener had
/// to reconnect.
/// </summary>
public sealed class DesiredStateService : BackgroundService
{
    private readonly Store store;
    private readonly ILogger<DesiredStateService> logger;
    private readonly ServerMetrics? metrics;
    private readonly GatewayReadModel? readModel;
    private readonly SemaphoreSlim refreshing = new(1, 1);
    private readonly TimeSpan fullReloadPeriod;
    private readonly ConcurrentQueue<IReadOnlyList<RowChange>> changes = new();
    private readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile IReadOnlyDictionary<string, SwitchDesiredState> current = new Dictionary<string, SwitchDesiredState>();
    private TaskCompletionSource changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly PlannerCache cache = new();

    // The last few states of each switch, by revision, to answer an agent that holds one of them with a delta.
    private const int HistoryDepth = 8;
    private readonly ConcurrentDictionary<string, SwitchDesiredState[]> history = new(StringComparer.Ordinal);
    private Inputs? inputs;
    private int pending;

    public DesiredStateService(
        Store store, ServerOptions options, ILogger<DesiredStateService> logger, ServerMetrics? metrics = null, GatewayReadModel? readModel = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        this.store = store;
        this.logger = logger;
        fullReloadPeriod = TimeSpan.FromSeconds(options.FullReloadInterval);
        this.metrics = metrics;
        this.readModel = readModel;
        metrics?.ObserveDesiredState(() => current);
        store.Committed += OnCommitted;
        store.PeerCommitted += OnCommitted;
    }

    /// <summary>Completes once the first plan has been computed.</summary>
    public Task Ready => ready.Task;

    /// <summary>The desired state of a switch; a switch with no connection wants none of the product's rows.</summary>
    public SwitchDesiredState For(string switchName) =>
        current.TryGetValue(switchName, out var state) ? state : SwitchDesiredState.Empty(switchName);

    /// <summary>
    /// The delta from <paramref name="knownRevision"/> to <paramref name="state"/>, when the revision is one of the
    /// switch's recent states; null when it is not (the agent then gets the whole state).
    /// </summary>
    public SwitchDesiredDelta? DeltaTo(SwitchDesiredState state, string knownRevision)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (string.IsNullOrEmpty(knownRevision) || !history.TryGetValue(state.Switch, out var recent))
        {
            return null;
        }

        var before = Array.Find(recent, s => s.Revision == knownRevision);
        return before is null ? null : SwitchDesiredDelta.Between(before, state);
    }

    /// <summary>
    /// How many desired states ago <paramref name="revision"/> was the switch's current one: 0 when it is current, null
    /// when it is none of the last few the server remembers (an older one, another server's, or none). A switch wants
    /// nothing before its first planned state, so the empty state counts as the one before the oldest this server
    /// planned for it, as long as it still holds all of those.
    /// </summary>
    public int? RevisionsBehind(string switchName, string? revision)
    {
        if (revision is null)
        {
            return null;
        }

        if (revision == For(switchName).Revision)
        {
            return 0;
        }

        if (!history.TryGetValue(switchName, out var recent))
        {
            return null;
        }

        var index = Array.FindIndex(recent, s => s.Revision == revision);
        if (index > 0)
        {
            return index;
        }

        return index < 0 && recent.Length < HistoryDepth && revision == SwitchDesiredState.Empty(switchName).Revision ? recent.Length : null;
    }

    /// <summary>A task that completes the next time any switch's desired state changes.</summary>
    public Task NextChange => Volatile.Read(ref changed).Task;

    private void OnCommitted(IReadOnlyList<RowChange> rows)
    {
        changes.Enqueue(rows);

        // Coalesce bursts of writes into one recomputation running after them.
        if (Interlocked.Exchange(ref pending, 1) == 0)
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await RefreshAsync(full: false, CancellationToken.None);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    logger.LogError(e, "recomputing desired switch state failed");
                }
            });
        }
    }

    public async Task RefreshAsync(bool full, CancellationToken cancellationToken)
    {
        await refreshing.WaitAsync(cancellationToken);
        try
        {
            Interlocked.Exchange(ref pending, 0);
            var started = Stopwatch.GetTimestamp();
            if (full || inputs is null)
            {
                // Changes queued so far are in the database the load reads; later ones are applied after it.
                changes.Clear();
                inputs = await LoadAsync(cancellationToken);
                cache.Clear();

                // The API's copy of gateways and connections is reloaded with the planner's inputs (same safety net).
                if (readModel is not null)
                {
                    await readModel.ReloadAsync(cancellationToken);
                }
            }
            else
            {
                var applied = 0;
                while (changes.TryDequeue(out var batch))
                {
                    applied += batch.Count;
                    inputs.Apply(batch, cache);
                }

                if (applied == 0 && current.Count > 0)
                {
                    return;
                }
            }

            var loaded = Stopwatch.GetTimestamp();
            var plan = Planner.Plan(inputs.ToPlannerInput(), cache);
            logger.LogDebug(
                "desired state recomputed ({Kind}): inputs {Load:F1} ms, plan {Plan:F1} ms",
                full ? "full" : "incremental",
                Stopwatch.GetElapsedTime(started, loaded).TotalMilliseconds,
                Stopwatch.GetElapsedTime(loaded).TotalMilliseconds);
            var before = current;
            var newRevisions = plan.Count(p => !before.TryGetValue(p.Key, out var old) || old.Revision != p.Value.Revision)
                + before.Keys.Count(n => !plan.ContainsKey(n));
            var differs = newRevisions > 0;
            metrics?.Planned(Stopwatch.GetElapsedTime(loaded), full, newRevisions);
            foreach (var (name, state) in plan)
            {
                var recent = history.GetValueOrDefault(name) ?? [];
                if (recent.Length == 0 || recent[0].Revision != state.Revision)
                {
                    history[name] = [state, .. recent.Take(HistoryDepth - 1)];
                }
            }

            foreach (var name in before.Keys.Where(n => !plan.ContainsKey(n)))
            {
                // A switch no longer connected wants nothing; remember that state too.
                var empty = SwitchDesiredState.Empty(name);
                var recent = history.GetValueOrDefault(name) ?? [];
                history[name] = [empty, .. recent.Take(HistoryDepth - 1)];
            }

            current = plan;
            ready.TrySetResult();
            if (differs)
            {
                var previous = Interlocked.Exchange(ref changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                previous.TrySetResult();
            }
        }
        finally
        {
            refreshing.Release();
        }
    }

    private Task<Inputs> LoadAsync(CancellationToken cancellationToken) =>
        store.ReadAsync(
            async db =>
            {
                var result = new Inputs();
                result.Apply([.. (await db.Gateways.ToListAsync(cancellationToken)).Select(r => new RowChange(r, false))]);
                result.Apply([.. (await db.Connections.ToListAsync(cancellationToken)).Select(r => new RowChange(r, false))]);
                result.Apply([.. (await db.Networks.ToListAsync(cancellationToken)).Select(r => new RowChange(r, false))]);
                result.Apply([.. (await db.Ports.ToListAsync(cancellationToken)).Select(r => new RowChange(r, false))]);
                result.Apply([.. (await db.Hosts.ToListAsync(cancellationToken)).Select(r => new RowChange(r, false))]);
                result.Apply([.. (await db.Switches.ToListAsync(cancellationToken)).Select(r => new RowChange(r, false))]);
                return result;
            },
            cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(fullReloadPeriod);
        try
        {
            do
            {
                try
                {
                    await RefreshAsync(full: true, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
                {
                    logger.LogError(e, "recomputing desired switch state failed");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    public override void Dispose()
    {
        store.Committed -= OnCommitted;
        store.PeerCommitted -= OnCommitted;
        refreshing.Dispose();
        base.Dispose();
    }

    /// <summary>The planner's inputs as domain records, by id.</summary>
    private sealed class Inputs
    {
        private readonly Dictionary<string, Gateway> gateways = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Connection> connections = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Network> networks = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Port> ports = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Core.Host> hosts = new(StringComparer.Ordinal);
        private readonly Dictionary<string, SwitchInventory> switches = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> tunnelIpOfHost = new(StringComparer.Ordinal);

        /// <summary>Applies rows a write stored or removed; forgets the planner's rows of the networks they touch.</summary>
        public void Apply(IReadOnlyList<RowChange> batch, PlannerCache? cache = null)
        {
            foreach (var (row, deleted) in batch)
            {
                switch (row)
                {
                    case GatewayRow g:
                        Set(gateways, g.Id, deleted ? null : g.ToDomain());
                        break;
                    case ConnectionRow c:
                        Set(connections, c.Id, deleted ? null : c.ToDomain());
                        break;
                    case NetworkRow n:
                        Set(networks, n.Id, deleted ? null : n.ToDomain());
                        cache?.Invalidate(n.Id);
                        break;
                    case PortRow p:
                        var before = ports.GetValueOrDefault(p.Id);
                        var after = deleted ? null : p.ToDomain();
                        Set(ports, p.Id, after);
                        cache?.PortChanged(before, after, tunnelIpOfHost);
                        break;
                    case HostRow h:
                        Set(hosts, h.Id, deleted ? null : h.ToDomain());
                        tunnelIpOfHost.Clear();
                        foreach (var host in hosts.Values)
                        {
                            tunnelIpOfHost[host.Name] = host.TunnelIp;
                        }

                        cache?.Clear();
                        break;
                    case SwitchRow s:
                        Set(switches, s.Name, deleted ? null : s.ToDomain());
                        break;
                    default:
                        break; // Agents, learned MACs: not planner inputs.
                }
            }
        }

        private static void Set<T>(Dictionary<string, T> map, string key, T? value)
            where T : class
        {
            if (value is null)
            {
                map.Remove(key);
            }
            else
            {
                map[key] = value;
            }
        }

        public PlannerInput ToPlannerInput() =>
            new([.. gateways.Values], [.. connections.Values], [.. networks.Values], [.. ports.Values], [.. hosts.Values], [.. switches.Values]);
    }
}
