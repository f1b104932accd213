using System.Collections.Concurrent;
using System.Net;
using L2Gateway.Core;
using L2Gateway.Server.Api;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;

namespace L2Gateway.Server.Tests;

/// <summary>
/// Lists over the API's in-memory copy answer what the database query answers: the same rows in the same order,
/// the same "more", the same errors, for many queries over rows with equal names, equal creation times and several
/// projects.
/// </summary>
public sealed class ReadModelListTests : IAsyncLifetime
{
    private static readonly Column[] Columns =
    [
        new("id", nameof(GatewayRow.Id)),
        new("name", nameof(GatewayRow.Name)),
        new("tenant_id", nameof(GatewayRow.ProjectId)),
        new("project_id", nameof(GatewayRow.ProjectId)),
    ];

    private static readonly string[] Names = ["a", "B", "b", "é", "a b", "", "Z", "gw10", "gw9"];
    private static readonly string[] Projects = ["p1", "p2", "p3"];

    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-readmodel-" + Guid.NewGuid().ToString("N"));
    private Store store = null!;
    private List<GatewayRow> rows = null!;

    public async Task InitializeAsync()
    {
        var settings = DatabaseSettings.Parse("sqlite:///" + Path.Combine(directory, "l2gw.sqlite").TrimStart('/'));
        await settings.UpgradeAsync();
        store = new Store(settings);
        var random = new Random(14);
        rows = [.. Enumerable.Range(0, 60).Select(i => new GatewayRow
        {
            Id = Guid.NewGuid().ToString(),
            Name = Names[random.Next(Names.Length)],
            ProjectId = Projects[random.Next(Projects.Length)],
            DevicesJson = "[]",
            CreatedAt = 1000 + random.Next(20), // many equal creation times: the id decides
        })];
        await store.WriteAsync(db =>
        {
            db.Gateways.AddRange(rows);
            return Task.FromResult(true);
        });
    }

    [Fact]
    public async Task Every_query_answers_as_the_database_does()
    {
        var random = new Random(2026);
        var inOrder = rows.OrderBy(r => r.CreatedAt).ThenBy(r => r.Id, StringComparer.Ordinal).ToList();
        var byId = rows.ToDictionary(r => r.Id, StringComparer.Ordinal);
        for (var round = 0; round < 400; round++)
        {
            var parameters = RandomQuery(random);
            var described = string.Join('&', parameters.SelectMany(p => p.Value.Select(v => $"{p.Key}={v}")));
            var project = random.Next(3) == 0 ? Projects[random.Next(Projects.Length)] : null;

            var expected = await OutcomeAsync(async () =>
            {
                var query = ListQuery.Parse(new QueryCollection(parameters));
                return await store.ReadAsync(db =>
                {
                    var source = db.Gateways.AsQueryable();
                    if (project is not null)
                    {
                        source = source.Where(g => g.ProjectId == project);
                    }

                    return query.PageAsync(source, Columns, (id, q) => q.FirstOrDefaultAsync(g => g.Id == id), CancellationToken.None);
                });
            });
            var actual = await OutcomeAsync(() =>
            {
                var query = ListQuery.Parse(new QueryCollection(parameters));
                return Task.FromResult(query.Page(inOrder, g => project is null || g.ProjectId == project, Columns, id => byId.GetValueOrDefault(id)));
            });
            Assert.True(expected == actual, $"?{described} (project {project ?? "all"}):\n database {expected}\n memory   {actual}");
        }
    }

    private static async Task<string> OutcomeAsync(Func<Task<(List<GatewayRow> Rows, bool More)>> run)
    {
        try
        {
            var (page, more) = await run();
            return $"{string.Join(",", page.Select(r => r.Id[..8]))} more={more}";
        }
        catch (L2GatewayException e)
        {
            return $"{e.Kind} {e.Type}: {e.Message}";
        }
    }

    private Dictionary<string, StringValues> RandomQuery(Random random)
    {
        var query = new Dictionary<string, StringValues>(StringComparer.Ordinal);
        if (random.Next(3) == 0)
        {
            query["name"] = new StringValues([.. Enumerable.Range(0, random.Next(1, 3)).Select(_ => Names[random.Next(Names.Length)])]);
        }

        if (random.Next(4) == 0)
        {
            query[random.Next(2) == 0 ? "tenant_id" : "project_id"] = Projects[random.Next(Projects.Length)];
        }

        if (random.Next(20) == 0)
        {
            query["colour"] = "red"; // not a filter: 400
        }

        var keys = new List<string>();
        var dirs = new List<string>();
        for (var i = random.Next(4); i > 0; i--)
        {
            keys.Add(new[] { "name", "id", "tenant_id", "project_id", "name" }[random.Next(5)]);
            dirs.Add(random.Next(2) == 0 ? "asc" : "desc");
        }

        if (random.Next(25) == 0)
        {
            keys.Add("devices"); // not sortable: 400
        }

        if (keys.Count > 0)
        {
            query["sort_key"] = new StringValues([.. keys]);
            query["sort_dir"] = new StringValues([.. dirs.Take(random.Next(2) == 0 ? dirs.Count : Math.Max(0, dirs.Count - 1))]);
        }

        if (random.Next(4) != 0)
        {
            query["limit"] = random.Next(0, 8).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (random.Next(2) == 0)
        {
            query["marker"] = random.Next(15) == 0 ? Guid.NewGuid().ToString() : rows[random.Next(rows.Count)].Id;
        }

        if (random.Next(3) == 0)
        {
            query["page_reverse"] = random.Next(2) == 0 ? "True" : "false";
        }

        return query;
    }

    public Task DisposeAsync()
    {
        store.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>On SQLite the copy is served once loaded, and a write committed through the store shows in the next read.</summary>
public sealed class ReadModelSqliteTests(SqliteServerFixture server) : IClassFixture<SqliteServerFixture>
{
    [Fact]
    public async Task A_committed_write_shows_in_the_next_read_from_the_copy()
    {
        await server.App.Services.GetRequiredService<DesiredStateService>().Ready;
        var copy = server.App.Services.GetRequiredService<GatewayReadModel>();
        var store = server.App.Services.GetRequiredService<Store>();
        using var api = server.Client();

        // A write that does not come through the API (as the Neutron import's) is there at once, in show and list.
        var id = Guid.NewGuid().ToString();
        await store.WriteAsync(db =>
        {
            db.Gateways.Add(new GatewayRow
            {
                Id = id,
                Name = "stored",
                ProjectId = api.Project,
                DevicesJson = Mapping.DevicesToJson([new GatewayDevice("d1", "tor", [new GatewayInterface("p1", [5])])]),
                CreatedAt = DateTime.UtcNow.Ticks,
            });
            return Task.FromResult(true);
        });
        Assert.NotNull(copy.Current);
        Assert.True(copy.Current.Gateways.ContainsKey(id));
        var (status, shown) = await api.GetAsync($"/v2.0/l2-gateways/{id}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(
            $$$"""{"l2_gateway":{"id":"{{{id}}}","name":"stored","devices":[{"id":"d1","device_name":"tor","interfaces":[{"name":"p1","segmentation_id":[5]}]}],"tenant_id":"{{{api.Project}}}","project_id":"{{{api.Project}}}"}}""",
            shown!.ToJsonString());
        var (_, listed) = await api.GetAsync($"/v2.0/l2-gateways?tenant_id={api.Project}&fields=name");
        Assert.Equal("""{"l2_gateways":[{"name":"stored"}]}""", listed!.ToJsonString());

        // Renamed and then deleted through the API: each answer is followed by reads that agree with it.
        await api.PutAsync($"/v2.0/l2-gateways/{id}", """{"l2_gateway":{"name":"renamed"}}""");
        Assert.Equal("renamed", (string?)(await api.GetAsync($"/v2.0/l2-gateways/{id}?fields=name")).Body!["l2_gateway"]!["name"]);
        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/v2.0/l2-gateways/{id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/v2.0/l2-gateways/{id}")).Status);
        Assert.Equal("""{"l2_gateways":[]}""", (await api.GetAsync($"/v2.0/l2-gateways?tenant_id={api.Project}")).Body!.ToJsonString());
        Assert.False(copy.Current!.Gateways.ContainsKey(id));
    }

    [Fact]
    public async Task A_reload_finds_rows_changed_behind_the_servers_back()
    {
        var desired = server.App.Services.GetRequiredService<DesiredStateService>();
        await desired.Ready;
        var copy = server.App.Services.GetRequiredService<GatewayReadModel>();
        var store = server.App.Services.GetRequiredService<Store>();
        using var api = server.Client();
        var id = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", """{"l2_gateway":{"name":"before","devices":[{"device_name":"t","interfaces":[{"name":"p"}]}]}}"""))["id"]!;

        // Changed in SQL, which raises no event: the copy keeps the old name until the safety-net reload.
        await store.ReadAsync(db => db.Database.ExecuteSqlAsync($"UPDATE l2_gateways SET \"Name\" = 'by hand' WHERE \"Id\" = {id}"));
        Assert.Equal("before", copy.Current!.Gateways[id].Row.Name);
        await desired.RefreshAsync(full: true, CancellationToken.None);
        Assert.Equal("by hand", (string?)(await api.GetAsync($"/v2.0/l2-gateways/{id}")).Body!["l2_gateway"]!["name"]);
    }
}

/// <summary>
/// Two servers on one PostgreSQL database: a gateway written on A is in B's answers once B has applied A's
/// notification, and B answers from the database, not its copy, while it cannot hear A's notifications.
/// </summary>
public sealed class ReadModelPeerTests : IAsyncLifetime
{
    private readonly PeerServers servers = new();
    private WebApplication a = null!;
    private WebApplication b = null!;
    private LogLines logB = null!;

    public async Task InitializeAsync()
    {
        await servers.StartAsync();
        (a, b, logB) = (servers.A, servers.B, servers.LogB);
    }

    private static Api Client(WebApplication app) => PeerServers.Client(app);

    /// <summary>Runs <paramref name="write"/> on A and waits until B has applied the notification that names the gateway.</summary>
    private async Task<T> OnAAndAppliedOnBAsync<T>(Func<Task<T>> write, Func<T, string> gatewayId)
    {
        var applied = new ConcurrentQueue<string>();
        var seen = new SemaphoreSlim(0, int.MaxValue);
        void OnPeer(IReadOnlyList<RowChange> rows)
        {
            foreach (var row in rows.Select(r => r.Row).OfType<GatewayRow>())
            {
                applied.Enqueue(row.Id);
                seen.Release();
            }
        }

        var storeB = b.Services.GetRequiredService<Store>();
        storeB.PeerCommitted += OnPeer;
        try
        {
            var result = await write();
            var id = gatewayId(result);
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (!applied.Contains(id))
            {
                await seen.WaitAsync(deadline.Token);
            }

            return result;
        }
        finally
        {
            storeB.PeerCommitted -= OnPeer;
        }
    }

    [Fact]
    public async Task A_gateway_written_on_one_server_is_in_the_others_answers_once_its_notification_is_applied()
    {
        using var apiA = Client(a);
        using var apiB = Client(b);
        var copyB = b.Services.GetRequiredService<GatewayReadModel>();

        var id = await OnAAndAppliedOnBAsync(
            async () => (string)(await apiA.CreateAsync("/v2.0/l2-gateways", "l2_gateway", """{"l2_gateway":{"name":"on-a","devices":[{"device_name":"t","interfaces":[{"name":"p","segmentation_id":[7]}]}]}}"""))["id"]!,
            id => id);
        Assert.NotNull(copyB.Current); // B answers from its copy
        var (status, onB) = await apiB.GetAsync($"/v2.0/l2-gateways/{id}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal((await apiA.GetAsync($"/v2.0/l2-gateways/{id}")).Body!.ToJsonString(), onB!.ToJsonString());
        Assert.Contains(id, (await apiB.GetAsync("/v2.0/l2-gateways?fields=id")).Body!.ToJsonString(), StringComparison.Ordinal);

        await OnAAndAppliedOnBAsync(() => apiA.PutAsync($"/v2.0/l2-gateways/{id}", """{"l2_gateway":{"name":"renamed-on-a"}}"""), _ => id);
        Assert.Equal("renamed-on-a", (string?)(await apiB.GetAsync($"/v2.0/l2-gateways/{id}")).Body!["l2_gateway"]!["name"]);

        await OnAAndAppliedOnBAsync(() => apiA.DeleteAsync($"/v2.0/l2-gateways/{id}"), _ => id);
        Assert.Equal(HttpStatusCode.NotFound, (await apiB.GetAsync($"/v2.0/l2-gateways/{id}")).Status);
        Assert.NotNull(copyB.Current);
    }

    [Fact]
    public async Task A_server_that_cannot_hear_the_others_does_not_answer_from_its_copy()
    {
        using var apiA = Client(a);
        using var apiB = Client(b);
        var copyB = b.Services.GetRequiredService<GatewayReadModel>();
        Assert.NotNull(copyB.Current);

        // B is cut off: its LISTEN connection ends and it may not log in again, so it misses A's notification.
        await servers.CutOffBAsync();
        Assert.Null(copyB.Current);
        var id = (string)(await apiA.CreateAsync("/v2.0/l2-gateways", "l2_gateway", """{"l2_gateway":{"name":"while-b-was-away","devices":[{"device_name":"t","interfaces":[{"name":"p"}]}]}}"""))["id"]!;

        // B goes to the database, which refuses it: an error, never a stale "not found".
        var (status, _) = await apiB.GetAsync($"/v2.0/l2-gateways/{id}");
        Assert.True((int)status >= 500, $"B answered {(int)status} while cut off");

        await servers.LetBBackAsync();
        Assert.NotNull(copyB.Current);
        Assert.Equal("while-b-was-away", (string?)(await apiB.GetAsync($"/v2.0/l2-gateways/{id}")).Body!["l2_gateway"]!["name"]);
    }

    public Task DisposeAsync() => servers.DisposeAsync().AsTask();
}
