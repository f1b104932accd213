using System.Text.Json;
using System.Text.Json.Nodes;
using L2Gateway.Core;
using L2Gateway.Core.Planning;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Api;

/// <summary>/v2.0/agents, the agents' own channel (reports in, desired state out), and the per-network FDB.</summary>
public static class AgentEndpoints
{
    private static readonly Column[] AgentColumns =
    [
        new("id", nameof(AgentRow.Id)),
        new("host", nameof(AgentRow.Host)),
    ];

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v2.0/agents", ListAgents);
        app.MapGet("/v2.0/agents/{id}", ShowAgent);
        app.MapDelete("/v2.0/agents/{id}", DeleteAgent);
        app.MapPost("/v2.0/l2gw-agent/report", Report);
        app.MapGet("/v2.0/l2gw-agent/desired-state", DesiredState);
        app.MapGet("/v2.0/networks/{id}/l2gw-fdb", Fdb);
    }

    private static JsonObject View(AgentRow row, AgentService agents) => new()
    {
        ["id"] = row.Id,
        ["agent_type"] = AgentProtocol.AgentType,
        ["binary"] = "l2gw-agent",
        ["topic"] = "l2gateway_agent",
        ["host"] = row.Host,
        ["alive"] = agents.IsAlive(row),
        ["admin_state_up"] = true,
        ["heartbeat_timestamp"] = Timestamp(row.HeartbeatAt),
        ["started_at"] = Timestamp(row.StartedAt),
        ["created_at"] = Timestamp(row.StartedAt),
        ["configurations"] = JsonNode.Parse(row.ConfigurationsJson),
        ["description"] = "",
    };

    private static string Timestamp(long ticks) =>
        new DateTime(ticks, DateTimeKind.Utc).ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<IResult> ListAgents(HttpContext http, Policy policy, Store store, AgentService agents)
    {
        policy.Authorize("get_agent", http.Caller());
        var query = ListQuery.Parse(http.Request.Query);
        var alive = query.Filters.Remove("alive", out var aliveFilter) ? aliveFilter : null;
        query.Filters.Remove("agent_type", out var typeFilter);
        var (rows, more) = await store.ReadAsync(
            db => query.PageAsync(db.Agents, AgentColumns, (id, q) => q.FirstOrDefaultAsync(a => a.Id == id), http.RequestAborted), http.RequestAborted);
        var views = rows.Select(r => View(r, agents))
            .Where(v => alive is null || alive.Contains(((bool)v["alive"]!).ToString(), StringComparer.OrdinalIgnoreCase))
            .Where(v => typeFilter is null || typeFilter.Contains(AgentProtocol.AgentType));
        return Http.Many(http, "agents", views, query, more, o => (string)o["id"]!);
    }

    private static async Task<IResult> ShowAgent(HttpContext http, string id, Policy policy, Store store, AgentService agents)
    {
        policy.Authorize("get_agent", http.Caller());
        var row = await store.ReadAsync(db => db.Agents.FirstOrDefaultAsync(a => a.Id == id, http.RequestAborted), http.RequestAborted)
            ?? throw L2GatewayException.NotFound("AgentNotFound", $"Agent {id} could not be found.");
        return Http.One("agent", View(row, agents), ListQuery.ParseFields(http.Request.Query));
    }

    private static async Task<IResult> DeleteAgent(HttpContext http, string id, Policy policy, AgentService agents)
    {
        policy.Authorize("delete_agent", http.Caller());
        await agents.DeleteAgentAsync(id, http.RequestAborted);
        return Results.NoContent();
    }

    private static async Task<IResult> Report(HttpContext http, Policy policy, AgentService agents)
    {
        policy.Authorize("report_l2gw_agent", http.Caller());
        AgentReport? report;
        try
        {
            report = await JsonSerializer.DeserializeAsync<AgentReport>(http.Request.Body, AgentProtocol.Json, http.RequestAborted);
        }
        catch (JsonException e)
        {
            throw L2GatewayException.InvalidInput("malformed agent report: " + e.Message);
        }

        if (report?.Switches is null || report.Host is null)
        {
            throw L2GatewayException.InvalidInput("an agent report needs host and switches");
        }

        var id = await agents.ReportAsync(report, http.RequestAborted);
        return Http.Json(new JsonObject { ["agent_id"] = id });
    }

    /// <summary>
    /// Long poll: <c>?switch=NAME&amp;known=REVISION</c> pairs (repeat for each switch) and <c>wait</c> seconds.
    /// Answers at once with every switch whose revision the agent does not have, else when one changes or
    /// the wait runs out (then with an empty list). A switch whose known revision the server still remembers
    /// gets a delta from it; any other gets its whole state.
    /// </summary>
    private static async Task<IResult> DesiredState(HttpContext http, Policy policy, DesiredStateService desired, TimeProvider time)
    {
        policy.Authorize("report_l2gw_agent", http.Caller());
        var switches = http.Request.Query["switch"].Select(s => s ?? "").ToList();
        var known = http.Request.Query["known"].Select(s => s ?? "").ToList();
        var wait = int.TryParse(http.Request.Query["wait"], out var w) ? Math.Clamp(w, 0, 60) : 0;
        await desired.Ready.WaitAsync(TimeSpan.FromSeconds(30), http.RequestAborted);
        using var waited = wait > 0 ? new CancellationTokenSource(TimeSpan.FromSeconds(wait), time) : new CancellationTokenSource();
        if (wait == 0)
        {
            await waited.CancelAsync();
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, waited.Token);
        while (true)
        {
            var next = desired.NextChange;
            var whole = new List<SwitchDesiredState>();
            var deltas = new List<SwitchDesiredDelta>();
            for (var i = 0; i < switches.Count; i++)
            {
                var state = desired.For(switches[i]);
                var have = i < known.Count ? known[i] : "";
                if (have == state.Revision)
                {
                    continue;
                }

                if (desired.DeltaTo(state, have) is { } delta)
                {
                    deltas.Add(delta);
                }
                else
                {
                    whole.Add(state);
                }
            }

            if (whole.Count + deltas.Count > 0 || timeout.IsCancellationRequested)
            {
                return Results.Bytes(JsonSerializer.SerializeToUtf8Bytes(new DesiredStateBatch(whole, deltas), AgentProtocol.Json), "application/json");
            }

            try
            {
                await next.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
            {
                // The wait ran out: answer with nothing new.
            }
        }
    }

    private static async Task<IResult> Fdb(HttpContext http, string id, Policy policy, Store store, AgentService agents)
    {
        var caller = http.Caller();
        policy.Authorize("get_network", caller);
        var network = await store.ReadAsync(db => db.Networks.FirstOrDefaultAsync(n => n.Id == id, http.RequestAborted), http.RequestAborted);
        if (network is null || !policy.Check("get_network", caller, network.ProjectId))
        {
            throw CatalogService.NetworkNotFound(id);
        }

        var (flood, macs) = await agents.FdbAsync(id, http.RequestAborted);
        return Http.Json(new JsonObject
        {
            ["l2gw_fdb"] = new JsonObject
            {
                ["flood"] = new JsonArray([.. flood.Select(f => (JsonNode)f)]),
                ["macs"] = new JsonArray([.. macs.Select(m => (JsonNode)new JsonObject
                {
                    ["mac"] = m.Mac,
                    ["ip"] = m.IpAddress,
                    ["tunnel_ip"] = m.TunnelIp,
                    ["switch"] = m.Switch,
                })]),
            },
        });
    }
}
