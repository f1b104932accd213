using System.Collections.Immutable;
using L2Gateway.Server.Api;
using L2Gateway.Server.Persistence;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Services;

/// <summary>
/// The API's in-memory copy of the gateways and connections, from which show and list are answered without a
/// database query. It is loaded from the database (under the store's write lock, so no commit of this process falls
/// between the load and the events that follow it) and then changed by the same committed-write events the planner's
/// inputs follow: this server's commits (<see cref="Store.Committed"/>, raised before the write is acknowledged) and
/// other servers' commits as read back after their notification (<see cref="Store.PeerCommitted"/>). Both are raised
/// under the store's write lock, so a row's versions arrive in commit order.
/// <para>
/// The copy is served only while it is known to be complete (<see cref="Current"/>): after a load, and on
/// PostgreSQL only while this server listens for the other servers' notifications and has loaded since LISTEN was
/// established. Otherwise (before the first load, while the LISTEN connection is down, after a notification that
/// could not be applied and until the reload that follows) the endpoints read the database as before.
/// </para>
/// </summary>
public sealed class GatewayReadModel : IDisposable
{
    private readonly Store store;
    private readonly ILogger<GatewayReadModel> logger;
    private readonly bool needsListen;
    private readonly Lock gate = new();

    // Guarded by gate: the newest copy (kept up to date even while not served), whether it may be served, whether
    // the peer listener is listening, and a counter of events that make a load started before them incomplete.
    private Snapshot? latest;
    private bool synced;
    private bool listening;
    private long generation;

    // What readers see: latest while synced, else null. Written under gate, read without it.
    private volatile Snapshot? served;

    public GatewayReadModel(Store store, ILogger<GatewayReadModel> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        this.store = store;
        this.logger = logger;
        needsListen = store.Settings.Provider == DatabaseProvider.PostgreSql;
        store.Committed += Apply;
        store.PeerCommitted += Apply;
    }

    /// <summary>The copy to answer from, or null when it may be behind the database (read the database instead).</summary>
    public Snapshot? Current => served;

    /// <summary>
    /// Reads both tables again, between this process's writes. The result is served unless something that makes it
    /// incomplete happened meanwhile (see <see cref="Invalidate"/>), or, on PostgreSQL, the listener was not listening
    /// when the load began.
    /// </summary>
    public Task ReloadAsync(CancellationToken cancellationToken) =>
        store.ReadExclusiveAsync(
            async db =>
            {
                long started;
                bool complete;
                lock (gate)
                {
                    started = generation;
                    complete = !needsListen || listening;
                }

                var gateways = await db.Gateways.AsNoTracking().ToListAsync(cancellationToken);
                var connections = await db.Connections.AsNoTracking().ToListAsync(cancellationToken);
                var fresh = Snapshot.Load(gateways, connections);
                lock (gate)
                {
                    latest = fresh;
                    synced = complete && started == generation;
                    served = synced ? fresh : null;
                }

                return true;
            },
            cancellationToken);

    /// <summary>Stops serving the copy until the next complete reload (a notification could not be applied).</summary>
    public void Invalidate()
    {
        lock (gate)
        {
            generation++;
            synced = false;
            served = null;
        }
    }

    /// <summary>The peer listener's LISTEN is established: notifications of every later commit will arrive.</summary>
    public void ListenerUp()
    {
        lock (gate)
        {
            listening = true;
        }
    }

    /// <summary>The peer listener lost its connection: other servers' commits may go unseen until it listens again.</summary>
    public void ListenerDown()
    {
        lock (gate)
        {
            listening = false;
            generation++;
            synced = false;
            served = null;
        }
    }

    private void Apply(IReadOnlyList<RowChange> rows)
    {
        if (!rows.Any(r => r.Row is GatewayRow or ConnectionRow))
        {
            return;
        }

        lock (gate)
        {
            if (latest is null)
            {
                return; // Not loaded yet: the load, which runs between writes, will read these rows.
            }

            try
            {
                latest = latest.With(rows);
                served = synced ? latest : null;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A row that cannot be shown (corrupt JSON column): answer from the database until a reload.
                logger.LogError(e, "the API's copy of gateways and connections could not take a committed write; reading the database until it is reloaded");
                generation++;
                synced = false;
                served = null;
            }
        }
    }

    public void Dispose()
    {
        store.Committed -= Apply;
        store.PeerCommitted -= Apply;
    }

    /// <summary>A gateway as stored, with its Neutron JSON view serialised once.</summary>
    public sealed record GatewayEntry(GatewayRow Row, byte[] Json);

    /// <summary>An immutable state of both tables; a write makes a new one sharing what it did not change.</summary>
    public sealed class Snapshot
    {
        private static readonly Comparison<GatewayEntry> GatewayOrder = (a, b) => CreationOrder(a.Row.CreatedAt, a.Row.Id, b.Row.CreatedAt, b.Row.Id);
        private static readonly Comparison<ConnectionRow> ConnectionOrder = (a, b) => CreationOrder(a.CreatedAt, a.Id, b.CreatedAt, b.Id);

        private GatewayRow[]? gatewaysInOrder;
        private ConnectionRow[]? connectionsInOrder;

        private Snapshot(ImmutableDictionary<string, GatewayEntry> gateways, ImmutableDictionary<string, ConnectionRow> connections)
        {
            Gateways = gateways;
            Connections = connections;
        }

        /// <summary>Gateways by id.</summary>
        public ImmutableDictionary<string, GatewayEntry> Gateways { get; }

        /// <summary>Connections by id.</summary>
        public ImmutableDictionary<string, ConnectionRow> Connections { get; }

        /// <summary>Gateways in the lists' default order (creation time, then id); computed once per snapshot.</summary>
        public IReadOnlyList<GatewayRow> GatewaysInOrder =>
            gatewaysInOrder ??= [.. Gateways.Values.Order(Comparer<GatewayEntry>.Create(GatewayOrder)).Select(e => e.Row)];

        /// <summary>Connections in the lists' default order (creation time, then id); computed once per snapshot.</summary>
        public IReadOnlyList<ConnectionRow> ConnectionsInOrder =>
            connectionsInOrder ??= [.. Connections.Values.Order(Comparer<ConnectionRow>.Create(ConnectionOrder))];

        internal static Snapshot Load(IEnumerable<GatewayRow> gateways, IEnumerable<ConnectionRow> connections) =>
            new(
                ImmutableDictionary.CreateRange(StringComparer.Ordinal, gateways.Select(g => KeyValuePair.Create(g.Id, Entry(g)))),
                ImmutableDictionary.CreateRange(StringComparer.Ordinal, connections.Select(c => KeyValuePair.Create(c.Id, Copy(c)))));

        internal Snapshot With(IReadOnlyList<RowChange> rows)
        {
            var gateways = Gateways;
            var connections = Connections;
            foreach (var (row, deleted) in rows)
            {
                switch (row)
                {
                    case GatewayRow g:
                        gateways = deleted ? gateways.Remove(g.Id) : gateways.SetItem(g.Id, Entry(g));
                        break;
                    case ConnectionRow c:
                        connections = deleted ? connections.Remove(c.Id) : connections.SetItem(c.Id, Copy(c));
                        break;
                    default:
                        break;
                }
            }

            return new Snapshot(gateways, connections);
        }

        private static int CreationOrder(long createdA, string idA, long createdB, string idB)
        {
            var byTime = createdA.CompareTo(createdB);
            return byTime != 0 ? byTime : string.CompareOrdinal(idA, idB);
        }

        // Copies, so that nothing the store's callers still hold (a tracked entity) can change the copy.
        private static GatewayEntry Entry(GatewayRow row)
        {
            var copy = new GatewayRow { Id = row.Id, Name = row.Name, ProjectId = row.ProjectId, DevicesJson = row.DevicesJson, CreatedAt = row.CreatedAt };
            return new GatewayEntry(copy, Http.Utf8(Views.Gateway(copy.ToDomain())));
        }

        private static ConnectionRow Copy(ConnectionRow row) => new()
        {
            Id = row.Id,
            GatewayId = row.GatewayId,
            NetworkId = row.NetworkId,
            SegmentationId = row.SegmentationId,
            ProjectId = row.ProjectId,
            Status = row.Status,
            StatusReason = row.StatusReason,
            CreatedAt = row.CreatedAt,
        };
    }
}
