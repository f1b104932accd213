using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace L2Gateway.Server.Persistence;

/// <summary>
/// Unit-of-work access to the database. Every write runs alone: one at a time in this process (a semaphore) and,
/// on PostgreSQL, one at a time across servers (a transaction-scoped advisory lock), so that validation reads
/// and the write that follows them see the same data. Writes are short; this costs little and rules out races
/// on quotas, duplicate connections and VLAN conflicts.
/// </summary>
/// <summary>A row a committed write stored or removed.</summary>
public readonly record struct RowChange(object Row, bool Deleted);

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

    /// <summary>
    /// Raised after each committed write with the rows it added, changed or removed, for whoever keeps a copy of
    /// what depends on stored data. (Bulk <c>ExecuteUpdate</c>/<c>ExecuteDelete</c> are not reported: they are
    /// only used on tables that copy does not hold.)
    /// </summary>
    public event Action<IReadOnlyList<RowChange>>? Committed;

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
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            if (affectsPlan(result))
            {
                Committed?.Invoke(changes);
            }

            return result;
        }
        finally
        {
            writeLock.Release();
        }
    }

    public void Dispose() => writeLock.Dispose();
}
