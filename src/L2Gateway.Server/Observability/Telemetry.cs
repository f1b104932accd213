using L2Gateway.OpenStack;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace L2Gateway.Server.Observability;

/// <summary>
/// The metrics of a process (server, embedded agent, standalone agent): OpenTelemetry with the product's meters,
/// ASP.NET Core's and the runtime's, exported in the Prometheus text format at <see cref="MetricsPath"/>.
/// </summary>
public static class Telemetry
{
    public const string MetricsPath = "/metrics";

    /// <summary>The server's meter: desired state (revisions, planning) and agents.</summary>
    public const string ServerMeter = "L2Gateway.Server";

    /// <summary>The agent's meter (per switch: connection, lock, passes, rows, drift, revisions); see L2Gateway.Agent.AgentMetrics.</summary>
    public const string AgentMeter = "L2Gateway.Agent";

    /// <summary>The OVSDB library's meter (messages, bytes, errors, requests in flight per switch database).</summary>
    public const string OvsdbMeter = "L2Gateway.Ovsdb";

    /// <summary>Every meter exported: the product's own, OpenStack mode's, and the .NET runtime's (GC, CPU, memory).</summary>
    public static IReadOnlyList<string> Meters { get; } = [ServerMeter, AgentMeter, OvsdbMeter, OpenStackMetrics.MeterName, "System.Runtime"];

    /// <summary>OpenTelemetry metrics with ASP.NET Core's instruments (http.server.request.duration, ...) and the Prometheus exporter.</summary>
    /// <param name="serviceName">The process's name in the scrape's target_info (l2gw-server, l2gw-agent).</param>
    public static IServiceCollection AddL2gwMetrics(this IServiceCollection services, string serviceName)
    {
        services.AddOpenTelemetry().ConfigureResource(r => r.AddService(serviceName)).WithMetrics(metrics => metrics
            .AddAspNetCoreInstrumentation()
            .AddMeter([.. Meters])
            .AddPrometheusExporter());
        return services;
    }

    /// <summary>Serves the scrape endpoint.</summary>
    public static IEndpointConventionBuilder MapL2gwMetrics(this IEndpointRouteBuilder app) => app.MapPrometheusScrapingEndpoint(MetricsPath);
}
