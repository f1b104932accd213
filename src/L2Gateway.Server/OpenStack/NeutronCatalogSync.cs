using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using L2Gateway.Core;
using L2Gateway.OpenStack.Messaging;
using L2Gateway.OpenStack.Neutron;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.OpenStack;

/// <summary>One pass of the catalog over Neutron: what started it, whether it succeeded, and how many rows it wrote.</summary>
public sealed record CatalogSyncPass(string Kind, bool Succeeded, int RowsWritten, string? Error = null)
{
    public const string Full = "full";
    public const string Poll = "poll";
    public const string Notifications = "notifications";
    public const string Lookup = "lookup";
}

/// <summary>
/// Mirrors Neutron's networks, ports and OVS agents (as hosts with their VTEP IPs) into the catalog's tables, so that
/// the planner, the desired state and the connection checks work as they do on the standalone catalog. One loop owns
/// all of it and takes its work from a channel: a complete read at start and every <c>neutron_full_sync_interval</c>
/// (the only way deletions are seen without the bus), a <c>changed_since</c> read every <c>neutron_poll_interval</c>
/// (and the agents, which have no <c>changed_since</c>), Neutron's notifications when a feed is registered, and
/// lookups of networks a connection names before they were read. A failed read leaves the mirror as it is and makes
/// the next tick a complete read.
/// </summary>
public sealed class NeutronCatalogSync : BackgroundService, INetworkLookup
{
    // changed_since is compared with updated_at, which Neutron sets in the transaction before it commits, to the
    // second: a poll asks again for what changed a little before its previous answer's time.
    private static readonly TimeSpan ChangedSinceMargin = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FeedRetry = TimeSpan.FromSeconds(5);
    private const int MaxBatch = 1000;

    private readonly NeutronClient neutron;
    private readonly NeutronMirrorWriter writer;
    private readonly Store store;
    private readonly TimeProvider time;
    private readonly ILogger<NeutronCatalogSync> logger;
    private readonly IReadOnlyList<ICatalogEvents> listeners;
    private readonly INotificationFeed? feed;
    private readonly TimeSpan pollInterval;
    private readonly TimeSpan fullInterval;
    private readonly Channel<Request> requests = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });

    // Owned by the loop.
    private readonly HostActivity activity = new();
    private readonly Dictionary<string, long> revisions = new(StringComparer.Ordinal);
    private readonly HashSet<string> deletedSinceFullRead = new(StringComparer.Ordinal);
    private DateTimeOffset? changedSince;
    private bool fullReadDue = true;
    private bool failing;

    private TaskCompletionSource<CatalogSyncPass> nextPass = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal NeutronCatalogSync(
        NeutronClient neutron,
        NeutronMirrorWriter writer,
        Store store,
        ServerOptions options,
        TimeProvider time,
        ILogger<NeutronCatalogSync> logger,
        IEnumerable<ICatalogEvents> listeners,
        INotificationFeed? feed)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.neutron = neutron;
        this.writer = writer;
        this.store = store;
        this.time = time;
        this.logger = logger;
        this.listeners = [.. listeners];
        this.feed = feed;
        pollInterval = TimeSpan.FromSeconds(options.NeutronPollInterval);
        fullInterval = TimeSpan.FromSeconds(options.NeutronFullSyncInterval);
    }

    /// <summary>Completes with the next pass that ends (successful or not).</summary>
    public Task<CatalogSyncPass> NextPass => Volatile.Read(ref nextPass).Task;

    /// <summary>The last pass that ended, or null before the first.</summary>
    public CatalogSyncPass? LastPass { get; private set; }

    public async Task EnsureNetworkAsync(string networkId, CancellationToken cancellationToken)
    {
        if (await store.ReadAsync(db => db.Networks.AnyAsync(n => n.Id == networkId, cancellationToken), cancellationToken))
        {
            return;
        }

        var found = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!requests.Writer.TryWrite(new Request.Lookup(networkId, found)))
        {
            throw Unavailable(networkId, "the catalog is stopping");
        }

        await found.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var poll = time.CreateTimer(_ => requests.Writer.TryWrite(Request.PollTick), null, pollInterval, pollInterval);
        using var full = time.CreateTimer(_ => requests.Writer.TryWrite(Request.FullTick), null, fullInterval, fullInterval);
        var feedReader = feed is null ? Task.CompletedTask : ReadFeedAsync(feed, stoppingToken);
        try
        {
            await PassAsync(CatalogSyncPass.Full, FullReadAsync, stoppingToken);
            var batch = new List<Request>();
            while (await requests.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && requests.Reader.TryRead(out var request))
                {
                    batch.Add(request);
                }

                await HandleAsync(batch, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            requests.Writer.TryComplete();
            while (requests.Reader.TryRead(out var left))
            {
                if (left is Request.Lookup lookup)
                {
                    lookup.Found.TrySetException(Unavailable(lookup.NetworkId, "the catalog is stopping"));
                }
            }

            await feedReader;
        }
    }

    private async Task HandleAsync(List<Request> batch, CancellationToken cancellationToken)
    {
        // Notifications first, as one pass; a tick in the same batch then reads what they did not carry.
        var notifications = batch.OfType<Request.Notified>().Select(n => n.Notification).ToList();
        if (notifications.Count > 0)
        {
            await PassAsync(CatalogSyncPass.Notifications, ct => ApplyNotificationsAsync(notifications, ct), cancellationToken);
        }

        foreach (var lookup in batch.OfType<Request.Lookup>())
        {
            await LookupAsync(lookup, cancellationToken);
        }

        if (batch.Contains(Request.FullTick) || (fullReadDue && batch.Contains(Request.PollTick)))
        {
            await PassAsync(CatalogSyncPass.Full, FullReadAsync, cancellationToken);
        }
        else if (batch.Contains(Request.PollTick))
        {
            await PassAsync(CatalogSyncPass.Poll, PollAsync, cancellationToken);
        }
    }

    private async Task PassAsync(string kind, Func<CancellationToken, Task<int>> work, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        CatalogSyncPass pass;
        try
        {
            var rows = await work(cancellationToken);
            pass = new CatalogSyncPass(kind, true, rows);
            if (failing)
            {
                failing = false;
                logger.LogInformation("Neutron catalog: reading Neutron works again ({Kind} read)", kind);
            }

            logger.Log(
                kind == CatalogSyncPass.Full || rows > 0 ? LogLevel.Information : LogLevel.Debug,
                "Neutron catalog: {Kind} read, {Rows} rows written, {Elapsed:F0} ms",
                kind,
                rows,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            pass = new CatalogSyncPass(kind, false, 0, e.Message);
            fullReadDue = true;
            if (!failing)
            {
                failing = true;
                logger.LogWarning("Neutron catalog: {Kind} read failed, the catalog stays as it was until a complete read succeeds: {Error}", kind, e.Message);
            }
            else
            {
                logger.LogDebug("Neutron catalog: {Kind} read failed again: {Error}", kind, e.Message);
            }
        }

        LastPass = pass;
        Interlocked.Exchange(ref nextPass, new TaskCompletionSource<CatalogSyncPass>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(pass);
    }

    private async Task<int> FullReadAsync(CancellationToken cancellationToken)
    {
        var networks = await neutron.ListNetworksAsync(cancellationToken: cancellationToken);
        var ports = await neutron.ListPortsAsync(cancellationToken: cancellationToken);
        var agents = await neutron.ListAgentsAsync(cancellationToken: cancellationToken);
        var rows = await writer.ApplyAsync(new MirrorBatch(networks.Items, ports.Items, agents.Items, AllNetworks: true, AllPorts: true), cancellationToken);
        revisions.Clear();
        deletedSinceFullRead.Clear();
        Remember(networks.Items, ports.Items);
        changedSince = (networks.ServerTime ?? time.GetUtcNow()) - ChangedSinceMargin;
        fullReadDue = false;
        Raise(activity.AgentsRead(agents.Items), activity.PortsRead(ports.Items, [], complete: true));
        return rows;
    }

    private async Task<int> PollAsync(CancellationToken cancellationToken)
    {
        var since = changedSince ?? time.GetUtcNow() - pollInterval - ChangedSinceMargin;
        var networks = await neutron.ListNetworksAsync(since, cancellationToken: cancellationToken);
        var ports = await neutron.ListPortsAsync(since, cancellationToken: cancellationToken);
        var agents = await neutron.ListAgentsAsync(cancellationToken: cancellationToken);
        var rows = await writer.ApplyAsync(new MirrorBatch(networks.Items, ports.Items, agents.Items), cancellationToken);
        Remember(networks.Items, ports.Items);
        changedSince = (networks.ServerTime ?? time.GetUtcNow()) - ChangedSinceMargin;
        Raise(activity.AgentsRead(agents.Items), activity.PortsRead(ports.Items, [], complete: false));
        return rows;
    }

    /// <summary>
    /// Applies what notifications carry: a deletion at once; a create or update from its payload when it holds every
    /// attribute the catalog needs and is newer than what is known (<c>revision_number</c>), else by reading that
    /// resource again (a payload formatted for a caller without the admin role lacks the binding and the segments).
    /// </summary>
    private async Task<int> ApplyNotificationsAsync(List<NeutronNotification> notifications, CancellationToken cancellationToken)
    {
        var networks = new Dictionary<string, NeutronNetwork>(StringComparer.Ordinal);
        var ports = new Dictionary<string, NeutronPort>(StringComparer.Ordinal);
        var rereadNetworks = new HashSet<string>(StringComparer.Ordinal);
        var rereadPorts = new HashSet<string>(StringComparer.Ordinal);
        var deletedNetworks = new HashSet<string>(StringComparer.Ordinal);
        var deletedPorts = new HashSet<string>(StringComparer.Ordinal);
        foreach (var notification in notifications)
        {
            if (NotificationTarget(notification) is not var (resource, action, id, body))
            {
                continue;
            }

            var isPort = resource == "port";
            if (action == "delete" && isPort)
            {
                deletedPorts.Add(id);
                ports.Remove(id);
                rereadPorts.Remove(id);
                continue;
            }

            if (action == "delete")
            {
                deletedNetworks.Add(id);
                networks.Remove(id);
                rereadNetworks.Remove(id);
                continue;
            }

            if (deletedSinceFullRead.Contains(id) || (isPort ? deletedPorts : deletedNetworks).Contains(id))
            {
                continue; // Ids are never reused: an update that arrives after the deletion is stale.
            }

            try
            {
                if (isPort && body is { } p && NeutronJson.IsCompletePort(p))
                {
                    var port = NeutronJson.ParsePort(p);
                    if (Newer(port.Id, port.RevisionNumber) && (!ports.TryGetValue(id, out var had) || had.RevisionNumber < port.RevisionNumber))
                    {
                        ports[id] = port;
                    }

                    continue;
                }

                if (!isPort && body is { } n && NeutronJson.IsCompleteNetwork(n))
                {
                    var network = NeutronJson.ParseNetwork(n);
                    if (Newer(network.Id, network.RevisionNumber) && (!networks.TryGetValue(id, out var had) || had.RevisionNumber < network.RevisionNumber))
                    {
                        networks[id] = network;
                    }

                    continue;
                }
            }
            catch (FormatException e)
            {
                logger.LogDebug("Neutron catalog: {Event} payload not understood ({Error}); reading {Id} again", notification.EventType, e.Message, id);
            }

            (isPort ? rereadPorts : rereadNetworks).Add(id);
        }

        if (rereadNetworks.Count > 0)
        {
            var read = await neutron.ListNetworksAsync(ids: rereadNetworks, cancellationToken: cancellationToken);
            foreach (var network in read.Items)
            {
                networks[network.Id] = network;
            }

            deletedNetworks.UnionWith(rereadNetworks.Where(id => !networks.ContainsKey(id)));
        }

        if (rereadPorts.Count > 0)
        {
            var read = await neutron.ListPortsAsync(ids: rereadPorts, cancellationToken: cancellationToken);
            foreach (var port in read.Items)
            {
                ports[port.Id] = port;
            }

            deletedPorts.UnionWith(rereadPorts.Where(id => !ports.ContainsKey(id)));
        }

        var rows = await writer.ApplyAsync(
            new MirrorBatch([.. networks.Values], [.. ports.Values], DeletedNetworks: deletedNetworks, DeletedPorts: deletedPorts), cancellationToken);
        Remember(networks.Values, ports.Values);
        foreach (var id in deletedNetworks.Concat(deletedPorts))
        {
            revisions.Remove(id);
            deletedSinceFullRead.Add(id);
        }

        Raise([], activity.PortsRead(ports.Values, deletedPorts, complete: false));
        return rows;
    }

    /// <summary>(resource, action, id, resource body) of a <c>port.*.end</c> or <c>network.*.end</c> notification, else null.</summary>
    internal static (string Resource, string Action, string Id, JsonElement? Body)? NotificationTarget(NeutronNotification notification)
    {
        var parts = notification.EventType.Split('.');
        if (parts is not [var resource and ("port" or "network"), var action and ("create" or "update" or "delete"), "end"]
            || notification.Payload.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        JsonElement? body = notification.Payload.TryGetProperty(resource, out var b) && b.ValueKind == JsonValueKind.Object ? b : null;
        var id = notification.Payload.TryGetProperty(resource + "_id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString()
            : body is { } o && o.TryGetProperty("id", out var bi) && bi.ValueKind == JsonValueKind.String ? bi.GetString()
            : null;
        return string.IsNullOrEmpty(id) ? null : (resource, action, id, body);
    }

    private async Task LookupAsync(Request.Lookup lookup, CancellationToken cancellationToken)
    {
        var id = lookup.NetworkId;
        await PassAsync(
            CatalogSyncPass.Lookup,
            async ct =>
            {
                try
                {
                    if (await store.ReadAsync(db => db.Networks.AnyAsync(n => n.Id == id, ct), ct))
                    {
                        lookup.Found.TrySetResult();
                        return 0;
                    }

                    var network = await neutron.GetNetworkAsync(id, ct);
                    if (network is null)
                    {
                        lookup.Found.TrySetResult();
                        return 0;
                    }

                    var ports = await neutron.ListPortsAsync(networkId: id, cancellationToken: ct);
                    var rows = await writer.ApplyAsync(new MirrorBatch([network], ports.Items), ct);
                    Remember([network], ports.Items);
                    Raise([], activity.PortsRead(ports.Items, [], complete: false));
                    lookup.Found.TrySetResult();
                    return rows;
                }
                catch (Exception e)
                {
                    // Also when stopping: the request waiting for this answer must not wait for its own timeout.
                    lookup.Found.TrySetException(Unavailable(id, e.Message));
                    throw;
                }
            },
            cancellationToken);
    }

    private static L2GatewayException Unavailable(string networkId, string reason) =>
        new(ErrorKind.ServiceUnavailable, "ServiceUnavailable", $"Network {networkId} could not be looked up in Neutron: {reason}");

    private bool Newer(string id, long revision) => !revisions.TryGetValue(id, out var known) || revision > known;

    private void Remember(IEnumerable<NeutronNetwork> networks, IEnumerable<NeutronPort> ports)
    {
        foreach (var network in networks)
        {
            revisions[network.Id] = network.RevisionNumber;
        }

        foreach (var port in ports)
        {
            revisions[port.Id] = port.RevisionNumber;
        }
    }

    private void Raise(IReadOnlyList<string> restarted, IReadOnlyList<(string Host, string NetworkId)> activated)
    {
        foreach (var host in restarted)
        {
            logger.LogInformation("Neutron catalog: the OVS agent of {Host} restarted", host);
        }

        foreach (var listener in listeners)
        {
            try
            {
                foreach (var host in restarted)
                {
                    listener.AgentRestarted(host);
                }

                foreach (var (host, network) in activated)
                {
                    listener.PortActivated(host, network);
                }
            }
            catch (Exception e)
            {
                logger.LogError(e, "Neutron catalog: a listener of host events failed");
            }
        }
    }

    /// <summary>Hands Neutron's notifications to the loop; a feed that fails or ends is read again after a pause.</summary>
    private async Task ReadFeedAsync(INotificationFeed notifications, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var notification in notifications.ReadAllAsync(stoppingToken))
                {
                    if (NotificationTarget(notification) is not null)
                    {
                        requests.Writer.TryWrite(new Request.Notified(notification));
                    }
                }

                logger.LogWarning("Neutron catalog: the notification feed ended; reading it again in {Delay} s", FeedRetry.TotalSeconds);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning("Neutron catalog: the notification feed failed ({Error}); reading it again in {Delay} s", e.Message, FeedRetry.TotalSeconds);
            }

            try
            {
                await Task.Delay(FeedRetry, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private abstract record Request
    {
        public static readonly Request PollTick = new Tick("poll");
        public static readonly Request FullTick = new Tick("full");

        public sealed record Tick(string Kind) : Request;

        public sealed record Notified(NeutronNotification Notification) : Request;

        public sealed record Lookup(string NetworkId, TaskCompletionSource Found) : Request;
    }
}
