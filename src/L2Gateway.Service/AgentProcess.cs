using System.Net;
using L2Gateway.Agent;
using L2Gateway.Server;
using L2Gateway.Server.Observability;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Service;

/// <summary>
/// The standalone agent's process: the agent as a hosted service, under systemd when started by it, and with
/// <c>[DEFAULT] metrics_bind</c> set, an HTTP listener of its own serving <c>/metrics</c> and <c>/healthz</c> (no
/// listener at all otherwise).
/// </summary>
internal static class AgentProcess
{
    public static IHost Build(AgentOptions options, LogFormat logFormat, IPEndPoint? metricsBind)
    {
        if (metricsBind is null)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [.. HostSettings.Args] });
            Configure(builder.Services, builder.Logging, options, logFormat);
            builder.Services.AddSystemd();
            return builder.Build();
        }

        var web = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [.. HostSettings.Args] });
        Configure(web.Services, web.Logging, options, logFormat);
        web.Host.UseSystemd();
        web.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(metricsBind);
        });
        web.Services.AddL2gwMetrics("l2gw-agent");
        web.Services.AddHealthChecks();
        var app = web.Build();
        app.MapL2gwMetrics();
        app.MapL2gwLiveness();
        return app;
    }

    private static void Configure(IServiceCollection services, ILoggingBuilder logging, AgentOptions options, LogFormat logFormat)
    {
        logging.AddL2gwConsole(logFormat);
        services.AddSingleton(options);
        services.AddHostedService<L2GatewayAgent>();
    }

    /// <summary><c>[DEFAULT] metrics_bind</c>: <c>HOST:PORT</c> as the server's bind; null when unset (the default: off).</summary>
    public static IPEndPoint? MetricsBind(IReadOnlyDictionary<string, string> ini) =>
        ini.GetValueOrDefault("DEFAULT:metrics_bind") is { Length: > 0 } bind ? ServerHost.ParseBind(bind) : null;
}
