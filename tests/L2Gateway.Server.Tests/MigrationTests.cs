using System.Data.Common;
using L2Gateway.Server.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace L2Gateway.Server.Tests;

/// <summary>
/// The hand-written migrations and the EF model describe one schema: a database built by the migrations and one
/// built from the model alone have the same tables, columns, keys, indexes and foreign keys, on both providers.
/// </summary>
public sealed class MigrationTests : IAsyncLifetime
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-migrations-" + Guid.NewGuid().ToString("N"));
    private readonly PostgresServer postgres = new();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(directory);
        await postgres.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await postgres.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    private DatabaseSettings Sqlite(string name) => DatabaseSettings.Parse("sqlite:///" + Path.Combine(directory, name).TrimStart('/'));

    private async Task<DatabaseSettings> PostgresAsync(string name)
    {
        await postgres.CreateDatabaseAsync(name);
        return DatabaseSettings.Parse(postgres.Url(name));
    }

    [Fact]
    public async Task Sqlite_migrations_match_the_model() =>
        await AssertSameSchemaAsync(Sqlite("migrated.sqlite"), Sqlite("model.sqlite"));

    [Fact]
    public async Task Postgres_migrations_match_the_model() =>
        await AssertSameSchemaAsync(await PostgresAsync("migrated"), await PostgresAsync("model"));

    private static async Task AssertSameSchemaAsync(DatabaseSettings migrated, DatabaseSettings model)
    {
        await migrated.UpgradeAsync();
        await using (var db = model.CreateContext())
        {
            Assert.True(await db.Database.EnsureCreatedAsync());
        }

        var fromMigrations = await DescribeAsync(migrated);
        var fromModel = await DescribeAsync(model);
        Assert.NotEmpty(fromModel);
        Assert.Equal(string.Join('\n', fromModel), string.Join('\n', fromMigrations));
    }

    [Fact]
    public async Task Upgrade_copies_segments_and_the_older_network_keeps_a_shared_one()
    {
        var settings = Sqlite("upgrade.sqlite");
        await using (var db = settings.CreateContext())
        {
            await db.GetService<IMigrator>().MigrateAsync("20261126000002_Agents");
            const string Vxlan = """[{"networkType":"vxlan","segmentationId":5000,"physicalNetwork":null}]""";
            const string Vlan = """[{"networkType":"vlan","segmentationId":100,"physicalNetwork":"physnet1"}]""";
            const string Local = """[{"networkType":"local","segmentationId":null,"physicalNetwork":null}]""";
            await db.Database.ExecuteSqlRawAsync(
                """
                INSERT INTO networks ("Id","Name","ProjectId","SegmentsJson","AdminStateUp","Shared","Description","Mtu","CreatedAt") VALUES
                  ('older','a','p',{0},1,0,'',1450,1), ('newer','b','p',{0},1,0,'',1450,2),
                  ('vlan','c','p',{1},1,0,'',1500,3), ('local','d','p',{2},1,0,'',1500,4)
                """,
                Vxlan,
                Vlan,
                Local);
        }

        await settings.UpgradeAsync();
        await using (var db = settings.CreateContext())
        {
            var segments = await db.NetworkSegments.OrderBy(s => s.NetworkId).ToListAsync();
            Assert.Equal(
                ["older vxlan  5000", "vlan vlan physnet1 100"],
                segments.Select(s => $"{s.NetworkId} {s.NetworkType} {s.PhysicalNetwork} {s.SegmentationId}"));
            Assert.Equal(4, await db.Networks.CountAsync());
        }
    }

    /// <summary>One sorted line per column, index and foreign key of every table but the migrations' own.</summary>
    private static async Task<List<string>> DescribeAsync(DatabaseSettings settings)
    {
        await using var db = settings.CreateContext();
        var connection = db.Database.GetDbConnection();
        await connection.OpenAsync();
        var lines = new List<string>();
        if (settings.Provider == DatabaseProvider.Sqlite)
        {
            var tables = await QueryAsync(connection, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__EFMigrations%'");
            foreach (var table in tables.Select(t => t[0]))
            {
                lines.AddRange((await QueryAsync(connection, $"SELECT name, type, \"notnull\", pk FROM pragma_table_info('{table}')"))
                    .Select(c => $"{table} column {string.Join(' ', c)}"));
                foreach (var index in await QueryAsync(connection, $"SELECT name, \"unique\", origin FROM pragma_index_list('{table}')"))
                {
                    var columns = await QueryAsync(connection, $"SELECT name FROM pragma_index_info('{index[0]}') ORDER BY seqno");
                    lines.Add($"{table} index {index[0]} unique={index[1]} origin={index[2]} ({string.Join(',', columns.Select(c => c[0]))})");
                }

                lines.AddRange((await QueryAsync(connection, $"SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list('{table}')"))
                    .Select(f => $"{table} foreign key {string.Join(' ', f)}"));
            }
        }
        else
        {
            lines.AddRange((await QueryAsync(
                connection,
                "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '__EFMigrationsHistory'"))
                .Select(c => $"{c[0]} column {c[1]} {c[2]} nullable={c[3]}"));
            lines.AddRange((await QueryAsync(
                connection, "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '__EFMigrationsHistory'"))
                .Select(i => $"{i[0]} index {i[1]}"));
            lines.AddRange((await QueryAsync(
                connection,
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype IN ('f','p','u') AND connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '\"__EFMigrationsHistory\"'"))
                .Select(c => $"{c[0]} constraint {c[1]} {c[2]}"));
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static async Task<List<string[]>> QueryAsync(DbConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string[]>();
        while (await reader.ReadAsync())
        {
            rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture) ?? "")]);
        }

        return rows;
    }
}
