using System.Data;
using L2Gateway.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace L2Gateway.Server.Persistence;

/// <summary>A row a committed write stored or removed.</summary>
public readonly record struct RowChange(object Row, bool Deleted);

/// <summary>
/// Unit-of-work access to the database. Every write runs alone: one at a time in this process (a semaphore) and,
/// on PostgreSQL, one at a time across servers (a transaction-scoped advisory lock), so that validation reads
/// and the write that follows them see the same data. Writes are short; this costs little and rules out races
/// on quotas and VLAN conflicts, which no single index can express. What an index can express is also declared in
/// the schema (unique keys on segments, MACs, host names, connections): a write that breaks one fails at commit
/// and leaves as a 409 in Neutron's shape, whatever path it came by.
/// </summary>
public sealed class Store : IDisposable
{
    private const long WriteLockKey = 0x4C32_4757; // "L2GW"

    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly PooledDbContextFactory<L2GatewayDbContext> factory;

    public Store(DatabaseSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
        var builder = new DbContextOptionsBuilder<L2GatewayDbContext>();
        settings.Configure(builder);
        factory = new PooledDbContextFactory<L2GatewayDbContext>(builder.Options);
    }

    public DatabaseSettings Settings { get; }

    /// <summary>This process among the servers sharing the database: its notifications carry it, so it skips its own.</summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>
    /// Raised after each committed write with the rows it added, changed or removed, for whoever keeps a copy of
    /// what depends on stored data. (Bulk <c>ExecuteUpdate</c>/<c>ExecuteDelete</c> are not reported: they are
    /// only used on tables that copy does not hold.)
    /// </summary>
    public event Action<IReadOnlyList<RowChange>>? Committed;

    /// <summary>
    /// Raised with the rows another server's committed write stored or removed, as read back here after its
    /// notification (see <see cref="ReportPeerCommitAsync"/>); same contract as <see cref="Committed"/>.
    /// </summary>
    public event Action<IReadOnlyList<RowChange>>? PeerCommitted;
    /// <summary>Raised after every committed write, whatever it changed (heartbeats included): the dashboard's cue.</summary>
    public event Action? WriteCommitted;

    public async Task<T> ReadAsync<T>(Func<L2GatewayDbContext, Task<T>> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        await using var db = await factory.CreateDbContextAsync(cancellationToken);
        return await work(db);
    }

    public Task<T> WriteAsync<T>(Func<L2GatewayDbContext, Task<T>> work, CancellationToken cancellationToken = default) =>
        WriteAsync(work, _ => true, cancellationToken);

    /// <summary>A write whose result tells whether it changed anything the desired switch state depends on.</summary>
    public async Task<T> WriteAsync<T>(Func<L2GatewayDbContext, Task<T>> work, Func<T, bool> affectsPlan, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(affectsPlan);
        ArgumentNullException.ThrowIfNull(work);
        await writeLock.WaitAsync(cancellationToken);
        try
        {
            await using var db = await factory.CreateDbContextAsync(cancellationToken);
            (T Result, List<RowChange> Changes, bool Affects) write;
            try
            {
                write = await CommitAsync(db, work, affectsPlan, cancellationToken);
            }
            catch (InvalidOperationException e) when (db.Database.GetDbConnection().State != ConnectionState.Open)
            {
                // A connection that broke between two statements (the server shutting down) leaves its transaction
                // completed, and the next statement fails before any I/O: nothing was committed.
                throw new DatabaseUnavailableException("The connection to the database broke during the write.", e);
            }

            if (write.Affects)
            {
                Committed?.Invoke(write.Changes);
            }

            WriteCommitted?.Invoke();

            return write.Result;
        }
        finally
        {
            writeLock.Release();
        }
    }

    private async Task<(T Result, List<RowChange> Changes, bool Affects)> CommitAsync<T>(
        L2GatewayDbContext db, Func<L2GatewayDbContext, Task<T>> work, Func<T, bool> affectsPlan, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (Settings.Provider == DatabaseProvider.PostgreSql)
        {
            await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_xact_lock({WriteLockKey})", cancellationToken);
        }

        var result = await work(db);
        var changes = db.ChangeTracker.Entries()
            .Where(e => e.State is EntityState.Added or EntityState.Modified or EntityState.Deleted)
            .Select(e => new RowChange(e.Entity, e.State == EntityState.Deleted))
            .ToList();
        var affects = affectsPlan(result);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            if (affects && Settings.Provider == DatabaseProvider.PostgreSql)
            {
                // Delivered to the other servers at commit, and only if it commits.
                foreach (var payload in ChangeNotification.Encode(InstanceId, ChangedRows(changes, db)))
                {
                    await db.Database.ExecuteSqlAsync($"SELECT pg_notify({ChangeNotification.Channel}, {payload})", cancellationToken);
                }
            }

            await transaction.CommitAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (DatabaseSettings.UniqueViolationTable(e) is { } table)
        {
            throw UniqueViolation(table, e);
        }

        return (result, changes, affects);
    }

    /// <summary>
    /// Reads what another server committed and raises <see cref="PeerCommitted"/> with it, between this process's
    /// writes: a write of this process that committed first has raised <see cref="Committed"/> already, and one
    /// that commits later raises it after, so a copy kept from both events sees every row's versions in order.
    /// </summary>
    public async Task ReportPeerCommitAsync(Func<L2GatewayDbContext, Task<IReadOnlyList<RowChange>>> read, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(read);
        await writeLock.WaitAsync(cancellationToken);
        try
        {
            await using var db = await factory.CreateDbContextAsync(cancellationToken);
            var rows = await read(db);
            if (rows.Count > 0)
            {
                PeerCommitted?.Invoke(rows);
            }
        }
        finally
        {
            writeLock.Release();
        }
    }

    /// <summary>
    /// A read that no write of this process, and no other server's write being reported, runs beside: a copy loaded
    /// here and then kept up to date from <see cref="Committed"/> and <see cref="PeerCommitted"/> misses nothing in
    /// between (every commit either is in what this reads, or raises its event after the read).
    /// </summary>
    public async Task<T> ReadExclusiveAsync<T>(Func<L2GatewayDbContext, Task<T>> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        await writeLock.WaitAsync(cancellationToken);
        try
        {
            await using var db = await factory.CreateDbContextAsync(cancellationToken);
            return await work(db);
        }
        finally
        {
            writeLock.Release();
        }
    }

    /// <summary>Table and key of each row with a one-column key (no server keeps a copy of the others).</summary>
    private static IEnumerable<ChangedRow> ChangedRows(IReadOnlyList<RowChange> changes, L2GatewayDbContext db)
    {
        foreach (var change in changes)
        {
            var type = db.Model.FindEntityType(change.Row.GetType());
            if (type?.GetTableName() is { } table && type.FindPrimaryKey()?.Properties is [{ PropertyInfo: { } key }]
                && key.GetValue(change.Row) is string id)
            {
                yield return new ChangedRow(table, id, change.Deleted);
            }
        }
    }

    /// <summary>The API error for a write that a unique key of <paramref name="table"/> refused.</summary>
    private static L2GatewayException UniqueViolation(string table, DbUpdateException cause) =>
        table switch
        {
            "network_segments" => L2GatewayException.Conflict(
                "SegmentationIdInUse", "Unable to create the network. The segmentation id is in use.", cause),
            "ports" => L2GatewayException.Conflict(
                "MacAddressInUse", "Unable to complete operation for the network. The mac address is in use.", cause),
            "hosts" => L2GatewayException.Conflict("HostExists", "A host of that name already exists.", cause),
            "l2_gateway_connections" => L2GatewayException.Conflict(
                "L2GatewayConnectionExists", "The specified mapping exists on the network gateway.", cause),
            _ => L2GatewayException.Conflict("Conflict", $"The request conflicts with a concurrent change of {table}; retry it.", cause),
        };

    public void Dispose() => writeLock.Dispose();
}
