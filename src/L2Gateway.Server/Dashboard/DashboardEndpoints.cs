using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using L2Gateway.Core;
using L2Gateway.Server.Api;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;

namespace L2Gateway.Server.Dashboard;

/// <summary>
/// The read-only operators' dashboard: the page (<c>/dashboard</c>, static files embedded in this assembly), its
/// data (<c>GET /v2.0/l2gw-dashboard</c>, rule <c>get_l2gw_dashboard</c>; as a stream of server-sent events when
/// asked with <c>Accept: text/event-stream</c>) and, under Keystone, a password login relayed to Keystone
/// (<c>POST /dashboard/login</c>). The page and the login are open: they carry no data, and the data needs a token.
/// </summary>
public static class DashboardEndpoints
{
    /// <summary>A comment line on an idle stream this often, so that proxies and the page see it is alive.</summary>
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan MaxStreamLifetime = TimeSpan.FromMinutes(5);

    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly Dictionary<string, (byte[] Body, string ContentType, string ETag)> Assets = LoadAssets();

    /// <summary>Whether a path is the page or its login, which need no identity (the data they show does).</summary>
    public static bool IsOpen(PathString path) => path.StartsWithSegments("/dashboard", StringComparison.Ordinal);

    public static void AddServices(IServiceCollection services, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton<DashboardFeed>();
        services.AddHostedService(sp => sp.GetRequiredService<DashboardFeed>());
        if (options.AuthStrategy == AuthStrategy.Keystone && Uri.TryCreate(options.KeystoneUrl, UriKind.Absolute, out var keystone))
        {
            services.AddSingleton(new KeystoneLogin(keystone));
        }
    }

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/dashboard", (HttpContext http) => Asset(http, "index.html"));
        app.MapGet("/dashboard/{file}", (HttpContext http, string file) => Asset(http, file));
        app.MapPost("/dashboard/login", Login);
        app.MapGet("/v2.0/l2gw-dashboard", State);
    }

    private static IResult Asset(HttpContext http, string file)
    {
        if (!Assets.TryGetValue(file, out var asset))
        {
            return Http.Json(Http.Error("HTTPNotFound", "The resource could not be found."), StatusCodes.Status404NotFound);
        }

        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        return http.Request.Headers.IfNoneMatch == asset.ETag
            ? Results.StatusCode(StatusCodes.Status304NotModified)
            : Results.Bytes(asset.Body, asset.ContentType);
    }

    private static async Task State(
        HttpContext http, Policy policy, Store store, AgentService agents, DesiredStateService desired, ServerOptions options, TimeProvider time,
        DashboardFeed feed, IHostApplicationLifetime lifetime)
    {
        policy.Authorize("get_l2gw_dashboard", http.Caller());
        if (!http.Request.Headers.Accept.Any(a => a?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true))
        {
            var (document, _) = await DashboardState.BuildAsync(store, agents, desired, options, time, http.RequestAborted);
            await Http.Json(new JsonObject { ["l2gw_dashboard"] = document }).ExecuteAsync(http);
            return;
        }

        // A stream ends after a while and the page opens the next one, so that a revoked token stops receiving within
        // the time a cached token is trusted anyway (token_cache_time, at least 10 s).
        var streamLifetime = options.AuthStrategy == AuthStrategy.Keystone
            ? TimeSpan.FromSeconds(Math.Clamp(options.TokenCacheTime, 10, (int)MaxStreamLifetime.TotalSeconds))
            : MaxStreamLifetime;
        using var ends = new CancellationTokenSource(streamLifetime, time);
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping, ends.Token);
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        await http.Response.StartAsync(http.RequestAborted);
        using var watch = feed.Watch();
        var next = watch.First;
        try
        {
            while (true)
            {
                DashboardPublication publication;
                try
                {
                    await next.WaitAsync(KeepAlive, time, stream.Token);
                    publication = feed.Latest; // the newest, skipping any this stream was too slow to send
                }
                catch (TimeoutException)
                {
                    await http.Response.WriteAsync(": keep-alive\n\n", stream.Token);
                    await http.Response.Body.FlushAsync(stream.Token);
                    continue;
                }

                await http.Response.WriteAsync("event: state\ndata: ", stream.Token);
                await http.Response.Body.WriteAsync(publication.Json, stream.Token);
                await http.Response.WriteAsync("\n\n", stream.Token);
                await http.Response.Body.FlushAsync(stream.Token);
                next = publication.Next;
            }
        }
        catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
        {
            // The stream's time is up, or the server stops: the page reconnects.
        }
    }

    private static async Task<IResult> Login(HttpContext http, IServiceProvider services)
    {
        if (services.GetService<KeystoneLogin>() is not { } keystone)
        {
            throw L2GatewayException.NotFound("HTTPNotFound", "This server does not use Keystone (auth_strategy = noauth): no login is needed.");
        }

        if (http.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true)
        {
            throw new L2GatewayException(ErrorKind.BadRequest, "HTTPBadRequest", "A login is a JSON body (Content-Type: application/json).");
        }

        JsonDocument body;
        try
        {
            body = await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted);
        }
        catch (JsonException)
        {
            throw new L2GatewayException(ErrorKind.BadRequest, "HTTPBadRequest", "Malformed request body");
        }

        using (body)
        {
            if (body.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new L2GatewayException(ErrorKind.BadRequest, "HTTPBadRequest", "A login is a JSON object");
            }

            string Field(string name, string? fallback = null) =>
                body.RootElement.OptionalString(name) is { Length: > 0 } value ? value
                : fallback ?? throw L2GatewayException.InvalidInput($"a login needs {name}");
            var login = new PasswordLogin(
                Field("username"), Field("password"), Field("project_name"), Field("user_domain_name", "Default"), Field("project_domain_name", "Default"));
            return Http.Json(await keystone.LoginAsync(login, http.RequestAborted));
        }
    }

    private static Dictionary<string, (byte[] Body, string ContentType, string ETag)> LoadAssets()
    {
        const string prefix = "dashboard/";
        var assembly = typeof(DashboardEndpoints).Assembly;
        var assets = new Dictionary<string, (byte[], string, string)>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var resource = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            resource.CopyTo(copy);
            var bytes = copy.ToArray();
            var type = Path.GetExtension(name) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            };
            assets[name[prefix.Length..]] = (bytes, type, "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"");
        }

        return assets;
    }
}
