using System.Diagnostics;
using System.Net;
using L2Gateway.Core;
using L2Gateway.Server.Api;
using L2Gateway.Server.Observability;
using L2Gateway.Server.OpenStack;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace L2Gateway.Server;

/// <summary>A configuration the server refuses to start with; the message is meant for the operator as is.</summary>
public sealed class ConfigurationException(string message) : Exception(message)
{
    public ConfigurationException()
        : this("invalid configuration")
    {
    }

    public ConfigurationException(string message, Exception innerException)
        : this(message + ": " + innerException?.Message)
    {
    }
}

/// <summary>Builds and runs the API server from <see cref="ServerOptions"/>.</summary>
public static partial class ServerHost
{
    public static IPEndPoint ParseBind(string bind)
    {
        ArgumentNullException.ThrowIfNull(bind);
        var text = bind.Trim();
        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            text = "127.0.0.1" + text["localhost".Length..];
        }

        if (!IPEndPoint.TryParse(text, out var endpoint) || !text.Contains(':', StringComparison.Ordinal) || endpoint.Port is < 0 or > 65535)
        {
            throw new ConfigurationException($"invalid bind address '{bind}': expected HOST:PORT, e.g. 127.0.0.1:9696");
        }

        return endpoint;
    }

    public static WebApplication Build(ServerOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var endpoint = ParseBind(options.Bind);
        if (options.AuthStrategy == AuthStrategy.NoAuth && !IPAddress.IsLoopback(endpoint.Address) && !options.ForceNoAuth)
        {
            throw new ConfigurationException(
                $"refusing auth_strategy=noauth on non-loopback address {endpoint}: anyone who can reach it would be admin (use --force-noauth to insist)");
        }

        Uri? keystoneUrl = null;
        if (options.AuthStrategy == AuthStrategy.Keystone
            && (!Uri.TryCreate(options.KeystoneUrl, UriKind.Absolute, out keystoneUrl) || keystoneUrl.Scheme is not ("http" or "https")))
        {
            throw new ConfigurationException("auth_strategy=keystone needs the Keystone URL: --keystone-url or [keystone_authtoken] www_authenticate_uri");
        }

        DatabaseSettings database;
        try
        {
            database = DatabaseSettings.Parse(options.DatabaseUrl);
        }
        catch (ArgumentException e)
        {
            throw new ConfigurationException(e.Message);
        }

        Policy policy;
        try
        {
            policy = options.PolicyFile is { Length: > 0 } file ? Policy.Load(file) : new Policy();
        }
        catch (Exception e) when (e is IOException or YamlDotNet.Core.YamlException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"cannot read policy file '{options.PolicyFile}': {e.Message}");
        }
        catch (FormatException e)
        {
            throw new ConfigurationException($"invalid policy file '{options.PolicyFile}': {e.Message}");
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [.. HostSettings.Args] });
        builder.Logging.AddL2gwConsole(options.LogFormat);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            k.Listen(endpoint);
        });
        builder.Services.AddSingleton(options);

        // The clock of heartbeats and long polls; tests put a manual one in its place (configure runs after this).
        builder.Services.AddSingleton(TimeProvider.System);
        if (keystoneUrl is not null)
        {
            builder.Services.AddSingleton(sp => new KeystoneAuth(keystoneUrl, TimeSpan.FromSeconds(options.TokenCacheTime), sp.GetRequiredService<TimeProvider>()));
        }

        OpenStack.NeutronProxy.AddServices(builder.Services, options);

        builder.Services.AddSingleton(database);
        builder.Services.AddSingleton(policy);
        builder.Services.AddSingleton<Store>();
        builder.Services.AddSingleton<GatewayService>();
        builder.Services.AddSingleton<CatalogService>();
        builder.Services.AddSingleton<AgentService>();
        builder.Services.AddSingleton<GatewayReadModel>();
        builder.Services.AddSingleton<DesiredStateService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DesiredStateService>());
        builder.Services.AddHostedService<PeerChangeListener>();
        builder.Services.AddSingleton<ServerMetrics>();
        builder.Services.AddL2gwMetrics("l2gw-server");
        builder.Services.AddL2gwHealthChecks(options);
        Dashboard.DashboardEndpoints.AddServices(builder.Services, options);
        if (options.Catalog == NeutronCatalog.Neutron)
        {
            NeutronCatalog.Register(builder.Services, options);
        }

        if (options.TransportUrl is { Length: > 0 } transportUrl)
        {
            builder.Services.AddOpenStackMessaging(transportUrl);
        }

        configure?.Invoke(builder);

        var app = builder.Build();
        var keystone = app.Services.GetService<KeystoneAuth>();
        var requests = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("L2Gateway.Api");
        app.UseL2gwRequestId();
        app.Use(async (http, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            await Http.HandleErrorsAsync(http, (next, keystone), static (h, s) => IdentifyThenAsync(h, s.next, s.keystone), requests);
            // Probes and scrapes come every few seconds: out of the access log unless debugging.
            AccessLine(
                requests,
                Health.IsOpen(http.Request.Path) ? LogLevel.Debug : LogLevel.Information,
                http.Request.Method,
                http.Request.Path.Value,
                http.Request.QueryString.Value,
                http.Response.StatusCode,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        });

        OpenStack.NeutronProxy.Use(app);
        MetaEndpoints.Map(app);
        GatewayEndpoints.Map(app);
        CatalogEndpoints.Map(app);
        AgentEndpoints.Map(app);
        app.MapL2gwHealth();
        app.MapL2gwMetrics();
        Dashboard.DashboardEndpoints.Map(app);
        app.MapFallback(() => Http.Json(Http.Error("HTTPNotFound", "The resource could not be found."), StatusCodes.Status404NotFound));
        return app;
    }

    private static async Task IdentifyThenAsync(HttpContext h, RequestDelegate next, KeystoneAuth? keystone)
    {
        // Version discovery stays open, as Neutron's does, and so do probes, scrapes (docs/operations.md) and
        // the dashboard's page (its data does not); what Neutron answers (proxy mode), Neutron authenticates;
        // everything else needs an identity.
        h.Items[typeof(RequestContext)] = keystone is null || h.Request.Path == "/" || Health.IsOpen(h.Request.Path)
            || Dashboard.DashboardEndpoints.IsOpen(h.Request.Path) || OpenStack.NeutronProxy.AuthenticatedByNeutron(h)
            ? RequestContext.FromNoAuthHeaders(keystone is null ? h.Request.Headers : new HeaderDictionary { ["X-Roles"] = "reader" })
            : await keystone.AuthenticateAsync(h.Request.Headers["X-Auth-Token"].FirstOrDefault(), h.RequestAborted);
        await next(h);
    }

    /// <summary>Applies migrations when configured to, then starts listening.</summary>
    public static async Task StartAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<ServerOptions>();
        var database = app.Services.GetRequiredService<DatabaseSettings>();
        if (options.MigrateOnStart)
        {
            await database.UpgradeAsync(cancellationToken);
        }

        await app.StartAsync(cancellationToken);
        app.Logger.LogInformation("l2gw server listening on {Urls}, database {Database}", string.Join(", ", Urls(app)), database.Display);
    }

    public static IReadOnlyList<string> Urls(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
    }

    /// <summary>Records a switch report as an agent would (used by the embedded agent and by tests).</summary>
    public static Task ReportSwitchAsync(WebApplication app, SwitchInventory inventory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.Services.GetRequiredService<CatalogService>().ReportSwitchAsync(inventory, null, cancellationToken);
    }
}
