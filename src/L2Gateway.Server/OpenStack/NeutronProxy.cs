using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using L2Gateway.Server.Api;
using Yarp.ReverseProxy.Forwarder;

namespace L2Gateway.Server.OpenStack;

/// <summary>Who answers a request when the product is the cloud's network endpoint.</summary>
public enum ProxyRoute
{
    /// <summary>The product's own endpoints (and its own authentication).</summary>
    Product,

    /// <summary>Neutron, unchanged; Neutron authenticates it.</summary>
    Neutron,

    /// <summary><c>GET /v2.0/extensions</c>: Neutron's list (Neutron authenticates it) plus the product's two.</summary>
    MergedExtensions,
}

/// <summary>
/// <c>[neutron] proxy = true</c>: the product serves what is its own (L2 gateways and connections, their extensions,
/// the agents' protocol, switches, the FDB view) and forwards every other request under <c>/v2.0</c> to Neutron with
/// YARP's forwarder: method, path, query, headers and body go as they came (the original <c>Host</c> too, so that
/// Neutron's links name the product), status, headers and body come back as Neutron sent them, streamed both ways.
/// </summary>
public sealed class NeutronProxy : IDisposable
{
    /// <summary>The first segments under <c>/v2.0</c> that the product serves itself.</summary>
    private static readonly HashSet<string> ProductCollections =
        new(["l2-gateways", "l2-gateway-connections", "l2-gateway-switches", "l2gw-agent"], StringComparer.Ordinal);

    private static readonly ForwarderRequestConfig RequestConfig = new() { ActivityTimeout = TimeSpan.FromSeconds(120) };

    private readonly Func<CancellationToken, ValueTask<Uri>> locateNeutron;
    private readonly IHttpForwarder forwarder;
    private readonly HttpMessageInvoker invoker;
    private readonly ILogger logger;

    /// <param name="locateNeutron">Where Neutron's API is (its root, without <c>/v2.0</c>), asked on every request.</param>
    public NeutronProxy(Func<CancellationToken, ValueTask<Uri>> locateNeutron, IHttpForwarder forwarder, ILogger<NeutronProxy> logger)
    {
        this.locateNeutron = locateNeutron;
        this.forwarder = forwarder;
        this.logger = logger;
        invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(15),

            // The client's own trace headers pass as they are; the proxy adds none.
            ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator(),
        });
    }

    /// <summary>Registers the proxy when <see cref="ServerOptions.NeutronProxy"/> is on; a one-line error when it cannot work.</summary>
    public static void AddServices(IServiceCollection services, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.NeutronProxy)
        {
            return;
        }

        var neutron = NeutronRoot(options);
        services.AddHttpForwarder();

        // YARP logs every forwarded request at Information; the server's own request line says the same.
        services.AddLogging(logging => logging.AddFilter("Yarp", LogLevel.Warning));
        services.AddSingleton(sp => new NeutronProxy(_ => ValueTask.FromResult(neutron), sp.GetRequiredService<IHttpForwarder>(), sp.GetRequiredService<ILogger<NeutronProxy>>()));
    }

    /// <summary>
    /// Neutron's root from <c>[neutron] url</c>. This is where the other source SPEC §8 names, the Keystone catalog's
    /// <c>network</c> endpoint (interface internal), comes in when no URL is configured.
    /// </summary>
    public static Uri NeutronRoot(ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.NeutronUrl))
        {
            throw new ConfigurationException("[neutron] proxy = true needs Neutron's URL: --neutron-url or [neutron] url");
        }

        if (!Uri.TryCreate(options.NeutronUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || url.Query.Length > 0)
        {
            throw new ConfigurationException($"invalid Neutron URL '{options.NeutronUrl}': expected http://HOST:PORT");
        }

        // The catalog's form (http://host:9696) and the versioned one (http://host:9696/v2.0) are both accepted.
        var path = url.AbsolutePath.TrimEnd('/');
        if (path.EndsWith("/v2.0", StringComparison.Ordinal))
        {
            path = path[..^"/v2.0".Length];
        }

        return new UriBuilder(url) { Path = path, Fragment = "" }.Uri;
    }

    /// <summary>
    /// Neutron's API lives under <c>/v2.0</c>: there, everything but the product's own resources goes to Neutron.
    /// Outside it (version discovery <c>/</c>, anything else the process serves) the product answers.
    /// </summary>
    public static ProxyRoute Route(PathString path)
    {
        var text = path.Value ?? "";
        if (text is "/v2.0" or "/v2.0/")
        {
            return ProxyRoute.Neutron;
        }

        if (!text.StartsWith("/v2.0/", StringComparison.Ordinal))
        {
            return ProxyRoute.Product;
        }

        var segments = text["/v2.0/".Length..].Split('/');
        return segments switch
        {
            [var collection, ..] when ProductCollections.Contains(collection) => ProxyRoute.Product,
            ["extensions"] => ProxyRoute.MergedExtensions,
            ["extensions", var alias] when MetaEndpoints.GatewayExtensions.Any(e => e.Alias == alias) => ProxyRoute.Product,
            ["networks", _, "l2gw-fdb"] => ProxyRoute.Product,
            _ => ProxyRoute.Neutron,
        };
    }

    /// <summary>Whether Neutron, not the product, authenticates this request (so the product does not check its token).</summary>
    public static bool AuthenticatedByNeutron(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        return http.RequestServices.GetService<NeutronProxy>() is not null && Route(http.Request.Path) != ProxyRoute.Product;
    }

    /// <summary>Puts the proxy in the pipeline (after identity, before the product's endpoints); nothing when it is off.</summary>
    public static void Use(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.Services.GetService<NeutronProxy>() is not { } proxy)
        {
            return;
        }

        app.Use((http, next) => Route(http.Request.Path) switch
        {
            ProxyRoute.Neutron => proxy.ForwardAsync(http, Passthrough.Instance),
            ProxyRoute.MergedExtensions when HttpMethods.IsGet(http.Request.Method) => proxy.ForwardAsync(http, ExtensionsMerger.Instance),
            ProxyRoute.MergedExtensions => proxy.ForwardAsync(http, Passthrough.Instance),
            _ => next(http),
        });
    }

    private async Task ForwardAsync(HttpContext http, HttpTransformer transformer)
    {
        var neutron = await locateNeutron(http.RequestAborted);
        var error = await forwarder.SendAsync(http, neutron.AbsoluteUri.TrimEnd('/'), invoker, RequestConfig, transformer);
        if (error is ForwarderError.None or ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled
            or ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyCanceled or ForwarderError.ResponseBodyClient)
        {
            return;
        }

        var cause = http.Features.Get<IForwarderErrorFeature>()?.Exception;
        logger.LogWarning("forwarding {Method} {Path} to Neutron at {Neutron} failed: {Error} {Cause}", http.Request.Method, http.Request.Path.Value, neutron, error, cause?.Message);
        if (http.Response.HasStarted)
        {
            // Part of Neutron's answer is on its way: the client sees a cut response, which is the truth.
            return;
        }

        var timedOut = error == ForwarderError.RequestTimedOut;
        http.Response.Clear();
        http.Response.StatusCode = timedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;
        http.Response.ContentType = "application/json";
        var message = timedOut ? $"Neutron at {neutron} did not answer in time" : $"Neutron at {neutron} is unreachable: {cause?.Message ?? error.ToString()}";
        await http.Response.WriteAsync(Http.Error(timedOut ? "HTTPGatewayTimeout" : "HTTPBadGateway", message).ToJsonString(), http.RequestAborted);
    }

    public void Dispose() => invoker.Dispose();

    /// <summary>Everything as it came, and the original <c>Host</c>, which Neutron builds its links from.</summary>
    private class Passthrough : HttpTransformer
    {
        public static readonly Passthrough Instance = new();

        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            // The default adds X-Forwarded-For/Proto/Host (read by a Neutron with enable_proxy_headers_parsing) and
            // drops Host; Host goes back, as a proxy in front of Neutron (Apache, HAProxy) leaves it.
            await Default.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            proxyRequest.Headers.Host = httpContext.Request.Host.Value;
        }

        public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken) =>
            Default.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);

        public override ValueTask TransformResponseTrailersAsync(HttpContext httpContext, HttpResponseMessage proxyResponse, CancellationToken cancellationToken) =>
            Default.TransformResponseTrailersAsync(httpContext, proxyResponse, cancellationToken);
    }

    /// <summary>
    /// <c>GET /v2.0/extensions</c>: Neutron's answer, with the product's two extensions in place of any Neutron lists
    /// under the same aliases (a Neutron that still loads networking-l2gw). Any other answer (401, 503) passes as is.
    /// </summary>
    private sealed class ExtensionsMerger : Passthrough
    {
        public static new readonly ExtensionsMerger Instance = new();

        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);

            // The body is rewritten, so it must come uncompressed.
            proxyRequest.Headers.AcceptEncoding.Clear();
        }

        public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            var copy = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
            if (proxyResponse is not { StatusCode: HttpStatusCode.OK } || proxyResponse.Content.Headers.ContentEncoding.Count > 0)
            {
                return copy;
            }

            var body = await proxyResponse.Content.ReadAsByteArrayAsync(cancellationToken);
            var merged = Merge(body) ?? body;
            httpContext.Response.ContentLength = merged.Length;
            await httpContext.Response.Body.WriteAsync(merged, cancellationToken);
            return false;
        }

        /// <summary>Neutron's list with the product's extensions; null when Neutron's body is not such a list.</summary>
        private static byte[]? Merge(byte[] neutronBody)
        {
            JsonNode? document;
            try
            {
                document = JsonNode.Parse(neutronBody);
            }
            catch (JsonException)
            {
                return null;
            }

            if (document?["extensions"] is not JsonArray neutron)
            {
                return null;
            }

            var ours = MetaEndpoints.GatewayExtensions.Select(e => e.Alias).ToHashSet(StringComparer.Ordinal);
            var merged = new JsonArray([.. neutron.Where(e => !(e?["alias"] is JsonValue alias && alias.TryGetValue<string>(out var name) && ours.Contains(name))).Select(e => e?.DeepClone())]);
            foreach (var extension in MetaEndpoints.GatewayExtensions)
            {
                merged.Add(MetaEndpoints.View(extension));
            }

            document["extensions"] = merged;
            return JsonSerializer.SerializeToUtf8Bytes(document);
        }
    }
}
