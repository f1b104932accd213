using System.Threading.Channels;
using L2Gateway.Core.L2Population;
using L2Gateway.OpenStack.Messaging;
using L2Gateway.Server.Persistence;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.OpenStack;

/// <summary>
/// Tells the OVS agents where the switches are (SPEC §8): for every connected network, the flooding entry of each
/// switch tunnel IP and the MACs the switches learned, as <c>add_fdb_entries</c> / <c>remove_fdb_entries</c> casts
/// on <c>q-agent-notifier-l2population-update</c>. It reconciles what it has sent with what is desired (pure:
/// <see cref="L2PopulationPlanner"/>, <see cref="FdbChanges"/>) after every committed write that may change it, and
/// sends everything again every <c>l2pop_resync_interval</c> seconds (an agent that missed a message, or restarted,
/// has its entries back within that time) and when the bus comes back after a send failed. One loop owns what was sent; the store,
/// the bus, the timer and the callers of <see cref="ResendNetwork"/> / <see cref="ResendHost"/> only post to its channel.
/// </summary>
public sealed class L2PopulationPublisher : BackgroundService
{
    private readonly Store store;
    private readonly IMessageBus bus;
    private readonly TimeProvider time;
    private readonly ILogger<L2PopulationPublisher> logger;
    private readonly TimeSpan resyncInterval;
    private readonly Channel<Request> requests = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });

    public L2PopulationPublisher(Store store, IMessageBus bus, ServerOptions options, TimeProvider time, ILogger<L2PopulationPublisher> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(options);
        this.store = store;
        this.bus = bus;
        this.time = time;
        this.logger = logger;
        resyncInterval = TimeSpan.FromSeconds(options.L2PopResyncInterval);
        store.Committed += OnCommitted;
        bus.Connected += OnBusConnected;
    }

    private abstract record Request;

    private sealed record Reload : Request;

    private sealed record ResendAll : Request;

    private sealed record BusBack : Request;

    private sealed record Network(string Id) : Request;

    private sealed record Host(string Name) : Request;

    /// <summary>What was last sent to every agent (for tests and diagnostics; written by the loop only).</summary>
    public FdbTable Sent { get; private set; } = FdbTable.Empty;

    /// <summary>Raised by the loop after each round of requests it handled (tests wait for it).</summary>
    public event Action? RoundDone;

    /// <summary>Sends a network's entries again to every agent (fanout): a host got its first port on it.</summary>
    public void ResendNetwork(string networkId) => requests.Writer.TryWrite(new Network(networkId));

    /// <summary>Sends every entry to one agent's host (<c>q-agent-notifier-l2population-update.HOST</c>): it restarted.</summary>
    public void ResendHost(string host) => requests.Writer.TryWrite(new Host(host));

    private void OnCommitted(IReadOnlyList<RowChange> rows)
    {
        if (rows.Any(r => r.Row is ConnectionRow or GatewayRow or NetworkRow or NetworkSegmentRow or SwitchRow or LocalMacRow))
        {
            requests.Writer.TryWrite(new Reload());
        }
    }

    private void OnBusConnected() => requests.Writer.TryWrite(new BusBack());

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = time.CreateTimer(_ => requests.Writer.TryWrite(new ResendAll()), null, resyncInterval, resyncInterval);
        requests.Writer.TryWrite(new Reload());
        FdbTable? desired = null;
        var failing = false;
        try
        {
            while (await requests.Reader.WaitToReadAsync(stoppingToken))
            {
                // A burst of requests is one round: one read of the store, one diff, each resend once.
                var reload = false;
                var all = false;
                var networks = new SortedSet<string>(StringComparer.Ordinal);
                var hosts = new SortedSet<string>(StringComparer.Ordinal);
                while (requests.Reader.TryRead(out var request))
                {
                    switch (request)
                    {
                        case Reload:
                            reload = true;
                            break;
                        case ResendAll:
                            (reload, all) = (true, true);
                            break;
                        case BusBack:
                            // Sends that failed while the bus was down may have left agents behind: all of it again.
                            (reload, all) = (true, all || failing);
                            break;
                        case Network n:
                            networks.Add(n.Id);
                            break;
                        case Host h:
                            hosts.Add(h.Name);
                            break;
                    }
                }

                try
                {
                    if (reload || desired is null)
                    {
                        desired = L2PopulationPlanner.Desired(await LoadAsync(stoppingToken));
                    }

                    await SendChangesAsync(desired, stoppingToken);
                    if (all)
                    {
                        await CastAsync(null, L2PopulationWire.AddMethod, desired, stoppingToken);
                    }
                    else
                    {
                        foreach (var network in networks)
                        {
                            await CastAsync(null, L2PopulationWire.AddMethod, desired.Only(network), stoppingToken);
                        }
                    }

                    foreach (var host in hosts)
                    {
                        await CastAsync(host, L2PopulationWire.AddMethod, desired, stoppingToken);
                    }

                    failing = false;
                }
                catch (BusUnavailableException e)
                {
                    // What was not sent stays unsent: the bus's reconnection (or the next resync) sends it.
                    if (!failing)
                    {
                        logger.LogWarning("l2population: {Error}; sending again when the bus is back", e.Message);
                    }

                    failing = true;
                }
                catch (Exception e) when (e is DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
                {
                    logger.LogError("l2population: reading the store failed: {Error}", e.Message);
                }

                RoundDone?.Invoke();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SendChangesAsync(FdbTable desired, CancellationToken cancellationToken)
    {
        var changes = FdbChanges.Between(Sent, desired);
        if (!changes.Remove.IsEmpty)
        {
            await CastAsync(null, L2PopulationWire.RemoveMethod, changes.Remove, cancellationToken);
            Sent = Sent.Without(changes.Remove);
        }

        if (!changes.Add.IsEmpty)
        {
            await CastAsync(null, L2PopulationWire.AddMethod, changes.Add, cancellationToken);
            Sent = Sent.With(changes.Add);
        }
    }

    private async Task CastAsync(string? host, string method, FdbTable entries, CancellationToken cancellationToken)
    {
        if (entries.IsEmpty)
        {
            return;
        }

        var args = L2PopulationWire.Args(entries);
        if (host is null)
        {
            await bus.FanoutCastAsync(L2PopulationWire.Topic, method, args, L2PopulationWire.Version, cancellationToken);
        }
        else
        {
            await bus.CastAsync(L2PopulationWire.Topic, host, method, args, L2PopulationWire.Version, cancellationToken);
        }

        logger.LogDebug("l2population: {Method} to {Target}: {Entries}", method, host ?? "every agent", entries);
    }

    private Task<L2PopulationInput> LoadAsync(CancellationToken cancellationToken) =>
        store.ReadAsync(
            async db =>
            {
                var connections = (await db.Connections.ToListAsync(cancellationToken)).Select(c => c.ToDomain()).ToList();
                var gatewayIds = connections.Select(c => c.GatewayId).Distinct().ToList();
                var networkIds = connections.Select(c => c.NetworkId).Distinct().ToList();
                var gateways = (await db.Gateways.Where(g => gatewayIds.Contains(g.Id)).ToListAsync(cancellationToken)).Select(g => g.ToDomain()).ToList();
                var networks = (await db.Networks.Where(n => networkIds.Contains(n.Id)).ToListAsync(cancellationToken)).Select(n => n.ToDomain()).ToList();
                var names = gateways.SelectMany(g => g.Devices.Select(d => d.DeviceName)).Distinct().ToList();
                var switches = (await db.Switches.Where(s => names.Contains(s.Name)).ToListAsync(cancellationToken)).Select(s => s.ToDomain()).ToList();
                var macs = await db.LocalMacs.Where(m => networkIds.Contains(m.LogicalSwitch) && names.Contains(m.Switch))
                    .Select(m => new LearnedMac(m.Switch, m.LogicalSwitch, m.Mac, m.IpAddress, m.TunnelIp))
                    .ToListAsync(cancellationToken);
                return new L2PopulationInput(gateways, connections, networks, switches, macs);
            },
            cancellationToken);

    public override void Dispose()
    {
        store.Committed -= OnCommitted;
        bus.Connected -= OnBusConnected;
        base.Dispose();
    }
}
