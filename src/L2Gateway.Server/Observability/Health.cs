using System.Text.Json.Nodes;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace L2Gateway.Server.Observability;

/// <summary>
/// Liveness (<see cref="LivePath"/>: the process answers) and readiness (<see cref="ReadyPath"/>: every check tagged
/// <see cref="ReadyTag"/> passes: the database answers, the desired state is loaded, and in OpenStack mode Neutron
/// and the bus are reachable), with ASP.NET Core's health checks.
/// </summary>
public static class Health
{
    public const string LivePath = "/healthz";

    public const string ReadyPath = "/readyz";

    /// <summary>The tag of the checks <see cref="ReadyPath"/> runs; a part that readiness depends on adds its check with it.</summary>
    public const string ReadyTag = "ready";

    /// <summary>How long one check may take before it counts as failed (a database host that drops packets).</summary>
    public static TimeSpan CheckTimeout { get; } = TimeSpan.FromSeconds(5);

    /// <summary>The paths served without credentials, whatever the auth strategy: probes and scrapers carry none.</summary>
    public static bool IsOpen(PathString path) => path == LivePath || path == ReadyPath || path == Telemetry.MetricsPath;

    public static IHealthChecksBuilder AddL2gwHealthChecks(this IServiceCollection services, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // The database check asks a context of its own whether the database answers; nothing else takes contexts
        // from the container (the store makes its own).
        services.AddScoped(sp => sp.GetRequiredService<DatabaseSettings>().CreateContext());
        var checks = services.AddHealthChecks()
            .AddDbContextCheck<L2GatewayDbContext>("database", tags: [ReadyTag])
            .AddCheck<DesiredStateHealthCheck>("desired_state", tags: [ReadyTag], timeout: CheckTimeout);
        OpenStackHealthChecks.AddConfigured(checks, options.ConfigFile);
        services.Configure<HealthCheckServiceOptions>(o =>
        {
            foreach (var registration in o.Registrations.Where(r => r.Timeout == Timeout.InfiniteTimeSpan))
            {
                registration.Timeout = CheckTimeout;
            }
        });
        return checks;
    }

    public static void MapL2gwHealth(this IEndpointRouteBuilder app)
    {
        app.MapL2gwLiveness();
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync });
    }

    /// <summary>Liveness alone: the process answers (the standalone agent's listener serves this one).</summary>
    public static IEndpointConventionBuilder MapL2gwLiveness(this IEndpointRouteBuilder app) =>
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });

    /// <summary>
    /// <c>{"status": "Healthy", "checks": {"database": "Healthy", ...}}</c>: which check failed, and no more. The
    /// endpoints are open, so why it failed (addresses, errors) goes to the log, not to the answer.
    /// </summary>
    private static Task WriteAsync(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json";
        var checks = new JsonObject();
        foreach (var (name, entry) in report.Entries)
        {
            checks[name] = entry.Status.ToString();
        }

        var body = new JsonObject { ["status"] = report.Status.ToString(), ["checks"] = checks };
        return http.Response.WriteAsync(body.ToJsonString(), http.RequestAborted);
    }
}

/// <summary>Ready once the planner's output for every switch has been computed (<see cref="DesiredStateService.Ready"/>).</summary>
internal sealed class DesiredStateHealthCheck(DesiredStateService desired) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(desired.Ready.IsCompletedSuccessfully
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("the desired state of the switches is not loaded yet"));
}
