using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace L2Gateway.Server.Persistence;

public enum DatabaseProvider
{
    Sqlite,
    PostgreSql,
}

/// <summary>Turns the operator's database URL into EF Core options.</summary>
public sealed class DatabaseSettings
{
    private DatabaseSettings(DatabaseProvider provider, string connectionString, string display)
    {
        Provider = provider;
        ConnectionString = connectionString;
        Display = display;
    }

    public DatabaseProvider Provider { get; }

    public string ConnectionString { get; }

    /// <summary>The URL without its password, for logs.</summary>
    public string Display { get; }

    /// <summary>Parses <c>sqlite:///path</c> or <c>postgresql://user:pass@host:port/db</c>.</summary>
    public static DatabaseSettings Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.StartsWith("sqlite:///", StringComparison.Ordinal))
        {
            var path = url["sqlite://".Length..];
            var builder = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 };
            return new DatabaseSettings(DatabaseProvider.Sqlite, builder.ToString(), url);
        }

        var normalized = url.Replace("+psycopg2", "", StringComparison.Ordinal);
        if (normalized.StartsWith("postgresql://", StringComparison.Ordinal) || normalized.StartsWith("postgres://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(normalized, UriKind.Absolute, out var uri) || uri.AbsolutePath.Trim('/').Length == 0)
            {
                throw new ArgumentException($"invalid database URL '{Redact(url)}': expected postgresql://USER:PASS@HOST:PORT/DB");
            }

            var userInfo = uri.UserInfo.Split(':', 2);
            var builder = new Npgsql.NpgsqlConnectionStringBuilder
            {
                Host = uri.Host,
                Port = uri.Port <= 0 ? 5432 : uri.Port,
                Database = uri.AbsolutePath.Trim('/'),
                Username = Uri.UnescapeDataString(userInfo[0]),
                Password = userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : null,
                MaxPoolSize = 50,
            };
            return new DatabaseSettings(DatabaseProvider.PostgreSql, builder.ToString(), Redact(url));
        }

        throw new ArgumentException(
            $"unsupported database URL '{Redact(url)}': use sqlite:///PATH or postgresql://USER:PASS@HOST:PORT/DB");
    }

    private static string Redact(string url)
    {
        var at = url.LastIndexOf('@');
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (at < 0 || scheme < 0)
        {
            return url;
        }

        var colon = url.IndexOf(':', scheme + 3);
        return colon > 0 && colon < at ? url[..(colon + 1)] + "***" + url[at..] : url;
    }

    public void Configure(DbContextOptionsBuilder options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (Provider == DatabaseProvider.Sqlite)
        {
            options.UseSqlite(ConnectionString);
        }
        else
        {
            options.UseNpgsql(ConnectionString);
        }

        options.UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking);

        // Migrations are written by hand for both providers, so there is no model snapshot to compare with.
        options.ConfigureWarnings(w => w.Ignore(RelationalEventId.PendingModelChangesWarning));
    }

    public L2GatewayDbContext CreateContext()
    {
        var builder = new DbContextOptionsBuilder<L2GatewayDbContext>();
        Configure(builder);
        return new L2GatewayDbContext(builder.Options);
    }

    /// <summary>Applies every pending migration; safe to run again.</summary>
    public async Task UpgradeAsync(CancellationToken cancellationToken = default)
    {
        if (Provider == DatabaseProvider.Sqlite)
        {
            var path = new SqliteConnectionStringBuilder(ConnectionString).DataSource;
            var directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
        }

        await using var db = CreateContext();
        if (Provider == DatabaseProvider.Sqlite)
        {
            // WAL: readers never block the writer.
            await db.Database.OpenConnectionAsync(cancellationToken);
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }

        await db.Database.MigrateAsync(cancellationToken);
    }

    /// <summary>The table whose unique key or primary key refused a write, or null for any other failure.</summary>
    public static string? UniqueViolationTable(DbUpdateException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        switch (error.InnerException)
        {
            case SqliteException s when s.SqliteExtendedErrorCode is SqliteUniqueViolation or SqlitePrimaryKeyViolation:
                // "UNIQUE constraint failed: table.column, table.column": SQLite names no constraint, only columns.
                var failed = s.Message.IndexOf("failed: ", StringComparison.Ordinal);
                var dot = failed < 0 ? -1 : s.Message.IndexOf('.', failed);
                return dot < 0 ? "" : s.Message[(failed + "failed: ".Length)..dot];
            case Npgsql.PostgresException p when p.SqlState == Npgsql.PostgresErrorCodes.UniqueViolation:
                return p.TableName ?? "";
            default:
                return null;
        }
    }

    /// <summary>
    /// Whether a failure means the database cannot be reached or is not serving now (down, restarting, shutting
    /// down, connections exhausted): the request may succeed later, elsewhere or when retried, so it is a 503.
    /// </summary>
    public static bool IsUnavailable(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case Npgsql.PostgresException p:
                    // 08: connection exception; 57P01-57P03: shutting down or starting; 53300: too many connections.
                    return p.SqlState.StartsWith("08", StringComparison.Ordinal)
                        || p.SqlState is "57P01" or "57P02" or "57P03" or Npgsql.PostgresErrorCodes.TooManyConnections;
                case DatabaseUnavailableException:
                    return true;
                case Npgsql.NpgsqlException:
                    // Not an answer of the server: the connection could not be opened, broke, or timed out.
                    return true;
                default:
                    break;
            }
        }

        return false;
    }

    private const int SqliteUniqueViolation = 2067; // SQLITE_CONSTRAINT_UNIQUE
    private const int SqlitePrimaryKeyViolation = 1555; // SQLITE_CONSTRAINT_PRIMARYKEY
}

/// <summary>The database stopped serving in the middle of an operation; nothing of it was committed.</summary>
public sealed class DatabaseUnavailableException(string message, Exception innerException) : Exception(message, innerException);

