using System.Globalization;
using System.Text.Json.Nodes;
using L2Gateway.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace L2Gateway.Server.Tests;

/// <summary>
/// A database written by an earlier release series (tests/fixtures/l2gw-SERIES.sqlite, made by
/// tests/fixtures/make-upgrade-fixture.sh through that series' API) is migrated by today's server as it starts, and
/// the API then shows every row as that series showed it (l2gw-SERIES.json beside it). The server's clock is set to
/// the fixture's last agent heartbeat, so what depends on time (an agent's liveness, and with it the connections'
/// status) reads as it did then.
/// </summary>
public sealed class UpgradeTests : IDisposable
{
    /// <summary>Computed when read, not stored, by code that may change between series: the digest of a switch's desired state.</summary>
    private static readonly string[] Computed = ["desired_revision"];

    /// <summary>Each table of the fixture and the API collection that shows its rows (local MACs: in the switches).</summary>
    private static readonly (string Table, string Collection)[] Tables =
    [
        ("l2_gateways", "l2-gateways"), ("l2_gateway_connections", "l2-gateway-connections"), ("networks", "networks"),
        ("ports", "ports"), ("hosts", "hosts"), ("agents", "agents"), ("switches", "l2-gateway-switches"),
    ];

    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-upgrade-" + Guid.NewGuid().ToString("N"));

    public UpgradeTests() => Directory.CreateDirectory(directory);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
    }

    public static TheoryData<string> Fixtures()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(FixtureDirectory, "l2gw-*.sqlite").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(file));
        }

        return data;
    }

    private static string FixtureDirectory
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "L2Gateway.slnx")))
            {
                dir = dir.Parent;
            }

            return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("repository root not found"), "tests", "fixtures");
        }
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public async Task The_server_migrates_an_earlier_series_database_and_shows_every_row(string fixture)
    {
        var copy = Path.Combine(directory, "l2gw.sqlite");
        File.Copy(Path.Combine(FixtureDirectory, fixture + ".sqlite"), copy);
        var expected = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(FixtureDirectory, fixture + ".json")))!.AsObject();
        var rows = await CountRowsAsync(copy);

        var heartbeat = DateTimeOffset.ParseExact(
            (string)expected["agents"]!["agents"]![0]!["heartbeat_timestamp"]!, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var clock = new ManualClock(heartbeat);
        var server = ServerHost.Build(
            new ServerOptions { Bind = "127.0.0.1:0", Database = "sqlite:///" + copy.TrimStart('/'), DataDir = directory },
            builder => builder.Services.AddSingleton<TimeProvider>(clock));
        await using (server)
        {
            await ServerHost.StartAsync(server);
            using var api = new Api(new Uri(ServerHost.Urls(server)[0]), "upgrade-check", roles: null);
            foreach (var (table, collection) in Tables)
            {
                var (_, body) = await api.GetAsync($"/v2.0/{collection}");
                var listed = body!.AsObject().Single(p => p.Value is JsonArray).Value!.AsArray();
                Assert.True(rows[table] > 0, $"the fixture has no row in {table}: it no longer shows that table surviving");
                Assert.Equal(rows[table], listed.Count);
                Assert.Equal(Normalize(expected[collection]!), Normalize(body!));
            }

            Assert.True(rows["local_macs"] > 0 && rows["network_segments"] > 0, "the fixture has no local MACs or network segments");
            foreach (var (network, fdb) in expected["fdb"]!.AsObject())
            {
                var (_, body) = await api.GetAsync($"/v2.0/networks/{network}/l2gw-fdb");
                Assert.Equal(Normalize(fdb!), Normalize(body!));
            }
        }
    }

    /// <summary>The row count of every table but the migrations' own.</summary>
    private static async Task<Dictionary<string, long>> CountRowsAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__EFMigrations%'";
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        var counts = new Dictionary<string, long>();
        foreach (var table in tables)
        {
            await using var count = connection.CreateCommand();
            count.CommandText = $"SELECT COUNT(*) FROM \"{table}\"";
            counts[table] = (long)(await count.ExecuteScalarAsync())!;
        }

        Assert.Equal(
            ["agents", "hosts", "l2_gateway_connections", "l2_gateways", "local_macs", "network_segments", "networks", "ports", "switches"],
            counts.Keys.Order(StringComparer.Ordinal));
        return counts;
    }

    /// <summary>The JSON without computed members, its arrays of objects in the order of their ids (or names).</summary>
    private static string Normalize(JsonNode node)
    {
        static JsonNode? Clean(JsonNode? n) => n switch
        {
            JsonObject o => new JsonObject(o.Where(p => !Computed.Contains(p.Key)).OrderBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => KeyValuePair.Create(p.Key, Clean(p.Value)))),
            JsonArray a => new JsonArray([.. a.Select(Clean).OrderBy(SortKey, StringComparer.Ordinal)]),
            _ => n?.DeepClone(),
        };

        static string SortKey(JsonNode? n) => n is JsonObject o ? (o["id"] ?? o["name"] ?? o["mac"])?.ToJsonString() ?? o.ToJsonString() : n?.ToJsonString() ?? "";

        return Clean(node)!.ToJsonString();
    }
}
