using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using L2Gateway.Server.Api;
using L2Gateway.Server.OpenStack;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace L2Gateway.Server.Tests;

/// <summary>A response as it came off the wire: status, headers (content headers included) and body bytes.</summary>
public sealed record Wire(HttpStatusCode Status, Dictionary<string, string> Headers, byte[] Body)
{
    public string Text => Encoding.UTF8.GetString(Body);

    public JsonNode Json => JsonNode.Parse(Body)!;

    public static async Task<Wire> SendAsync(Uri root, HttpMethod method, string path, string? token, string? json = null, bool chunked = false)
    {
        using var http = new HttpClient { BaseAddress = root };
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Add("X-Auth-Token", token);
        }

        if (json is not null)
        {
            // A stream of unknown length goes out chunked (Transfer-Encoding: chunked, no Content-Length).
            request.Content = chunked ? new StreamContent(new UnknownLengthStream(Encoding.UTF8.GetBytes(json))) : new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        using var response = await http.SendAsync(request);
        var headers = response.Headers.Concat(response.Content.Headers)
            .ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
        return new Wire(response.StatusCode, headers, await response.Content.ReadAsByteArrayAsync());
    }

    private sealed class UnknownLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}

/// <summary>
/// A product in proxy mode in front of the lab's real Neutron, with Keystone authentication against the lab's real
/// Keystone, and an admin token for the tests.
/// </summary>
public sealed class NeutronProxyFixture : IAsyncLifetime
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-proxy-" + Guid.NewGuid().ToString("N"));

    public WebApplication App { get; private set; } = null!;

    public Uri Proxy { get; private set; } = null!;

    public Uri Neutron => OpenStackLab.NeutronUrl;

    public string AdminToken { get; private set; } = "";

    public async Task InitializeAsync()
    {
        App = ServerHost.Build(new ServerOptions
        {
            Bind = "127.0.0.1:0",
            DataDir = directory,
            AuthStrategy = AuthStrategy.Keystone,
            KeystoneUrl = OpenStackLab.KeystoneUrl.ToString(),
            NeutronProxy = true,
            NeutronUrl = OpenStackLab.NeutronUrl.ToString(),
        });
        await ServerHost.StartAsync(App);
        Proxy = new Uri(ServerHost.Urls(App)[0]);
        AdminToken = await OpenStackLab.IssueTokenAsync("admin");
    }

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    public Task<Wire> ViaProxyAsync(HttpMethod method, string path, string? json = null, string? token = null, bool chunked = false) =>
        Wire.SendAsync(Proxy, method, path, token ?? AdminToken, json, chunked);

    public Task<Wire> DirectAsync(HttpMethod method, string path, string? json = null, string? token = null, bool chunked = false) =>
        Wire.SendAsync(Neutron, method, path, token ?? AdminToken, json, chunked);
}

public sealed class NeutronProxyTests(NeutronProxyFixture lab) : IClassFixture<NeutronProxyFixture>
{
    private static readonly string[] ExtensionKeys = ["alias", "description", "links", "name", "updated"];

    [Theory]
    [InlineData("/", ProxyRoute.Product)]
    [InlineData("/metrics", ProxyRoute.Product)]
    [InlineData("/v2.0", ProxyRoute.Neutron)]
    [InlineData("/v2.0/", ProxyRoute.Neutron)]
    [InlineData("/v2.0/networks", ProxyRoute.Neutron)]
    [InlineData("/v2.0/networks/n1", ProxyRoute.Neutron)]
    [InlineData("/v2.0/ports", ProxyRoute.Neutron)]
    [InlineData("/v2.0/agents", ProxyRoute.Neutron)]
    [InlineData("/v2.0/hosts", ProxyRoute.Neutron)]
    [InlineData("/v2.0/l2-gateways", ProxyRoute.Product)]
    [InlineData("/v2.0/l2-gateways/", ProxyRoute.Product)]
    [InlineData("/v2.0/l2-gateways/g1", ProxyRoute.Product)]
    [InlineData("/v2.0/l2-gateways.json", ProxyRoute.Neutron)]
    [InlineData("/v2.0/l2-gateway-connections/c1", ProxyRoute.Product)]
    [InlineData("/v2.0/l2-gateway-switches", ProxyRoute.Product)]
    [InlineData("/v2.0/l2gw-agent/desired-state", ProxyRoute.Product)]
    [InlineData("/v2.0/networks/n1/l2gw-fdb", ProxyRoute.Product)]
    [InlineData("/v2.0/networks/n1/l2gw-fdb/x", ProxyRoute.Neutron)]
    [InlineData("/v2.0/extensions", ProxyRoute.MergedExtensions)]
    [InlineData("/v2.0/extensions/l2-gateway", ProxyRoute.Product)]
    [InlineData("/v2.0/extensions/l2-gateway-connection", ProxyRoute.Product)]
    [InlineData("/v2.0/extensions/provider", ProxyRoute.Neutron)]
    [InlineData("/v3/auth/tokens", ProxyRoute.Product)]
    public void The_product_answers_its_own_resources_and_neutron_the_rest_of_v2(string path, ProxyRoute route) =>
        Assert.Equal(route, NeutronProxy.Route(path));

    [Fact]
    public async Task Neutron_answers_through_the_proxy_as_it_answers_directly()
    {
        var name = "l2gw-proxy-" + Guid.NewGuid().ToString("N")[..8];
        var created = await lab.ViaProxyAsync(HttpMethod.Post, "/v2.0/networks", $$$"""{"network":{"name":"{{{name}}}"}}""");
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var network = (string)created.Json["network"]!["id"]!;
        try
        {
            // A read: same status, same body byte for byte, same content headers.
            var direct = await lab.DirectAsync(HttpMethod.Get, $"/v2.0/networks/{network}");
            var proxied = await lab.ViaProxyAsync(HttpMethod.Get, $"/v2.0/networks/{network}");
            Assert.Equal(HttpStatusCode.OK, proxied.Status);
            Assert.Equal(direct.Text, proxied.Text);
            Assert.Equal(direct.Headers["Content-Type"], proxied.Headers["Content-Type"]);
            Assert.Equal(direct.Headers["Content-Length"], proxied.Headers["Content-Length"]);
            Assert.StartsWith("req-", proxied.Headers["X-Openstack-Request-Id"], StringComparison.Ordinal);

            // An error: Neutron's status and Neutron's body.
            var missing = Guid.NewGuid().ToString();
            direct = await lab.DirectAsync(HttpMethod.Get, $"/v2.0/networks/{missing}");
            proxied = await lab.ViaProxyAsync(HttpMethod.Get, $"/v2.0/networks/{missing}");
            Assert.Equal(HttpStatusCode.NotFound, proxied.Status);
            Assert.Equal(direct.Text, proxied.Text);
            Assert.Contains("NetworkNotFound", proxied.Text, StringComparison.Ordinal);

            // A request body streams as it comes: Neutron reads only bodies with a Content-Length, and says so alike.
            var chunkedPort = $$$"""{"port":{"network_id":"{{{network}}}","name":"{{{name}}}-chunked"}}""";
            direct = await lab.DirectAsync(HttpMethod.Post, "/v2.0/ports", chunkedPort, chunked: true);
            proxied = await lab.ViaProxyAsync(HttpMethod.Post, "/v2.0/ports", chunkedPort, chunked: true);
            Assert.Equal(HttpStatusCode.BadRequest, proxied.Status);
            Assert.Equal(direct.Text, proxied.Text);

            // Writes, and a list large enough to take many reads both ways.
            var ports = new List<string>();
            for (var i = 0; i < 40; i++)
            {
                var port = await lab.ViaProxyAsync(
                    HttpMethod.Post, "/v2.0/ports", $$$"""{"port":{"network_id":"{{{network}}}","name":"{{{name}}}-p{{{i}}}","description":"{{{new string('d', 200)}}}"}}""");
                Assert.Equal(HttpStatusCode.Created, port.Status);
                ports.Add((string)port.Json["port"]!["id"]!);
            }

            direct = await lab.DirectAsync(HttpMethod.Get, $"/v2.0/ports?network_id={network}");
            proxied = await lab.ViaProxyAsync(HttpMethod.Get, $"/v2.0/ports?network_id={network}");
            Assert.Equal(HttpStatusCode.OK, proxied.Status);
            Assert.True(proxied.Body.Length > 32_000, $"{proxied.Body.Length} bytes");
            Assert.Equal(direct.Text, proxied.Text);

            // Neutron builds links from the request's Host, which the proxy keeps: they lead back through the product.
            var page = await lab.ViaProxyAsync(HttpMethod.Get, $"/v2.0/ports?network_id={network}&limit=25");
            var next = (string)page.Json["ports_links"]!.AsArray().Single(l => (string?)l!["rel"] == "next")!["href"]!;
            Assert.StartsWith(lab.Proxy.GetLeftPart(UriPartial.Authority) + "/v2.0/ports?", next, StringComparison.Ordinal);
            var rest = await lab.ViaProxyAsync(HttpMethod.Get, new Uri(next).PathAndQuery);
            Assert.Equal(15, rest.Json["ports"]!.AsArray().Count);

            foreach (var port in ports)
            {
                Assert.Equal(HttpStatusCode.NoContent, (await lab.ViaProxyAsync(HttpMethod.Delete, $"/v2.0/ports/{port}")).Status);
            }

            var deleted = await lab.ViaProxyAsync(HttpMethod.Delete, $"/v2.0/networks/{network}");
            Assert.Equal(HttpStatusCode.NoContent, deleted.Status);
            Assert.Empty(deleted.Body);
            Assert.Equal(HttpStatusCode.NotFound, (await lab.DirectAsync(HttpMethod.Get, $"/v2.0/networks/{network}")).Status);
        }
        finally
        {
            foreach (var port in (await lab.DirectAsync(HttpMethod.Get, $"/v2.0/ports?network_id={network}&fields=id")).Json["ports"]?.AsArray() ?? [])
            {
                await lab.DirectAsync(HttpMethod.Delete, $"/v2.0/ports/{port!["id"]}");
            }

            await lab.DirectAsync(HttpMethod.Delete, $"/v2.0/networks/{network}");
        }
    }

    [Fact]
    public async Task Neutron_authenticates_what_it_answers_the_product_does_not_check_those_tokens()
    {
        var keystone = lab.App.Services.GetRequiredService<KeystoneAuth>();
        var demo = await OpenStackLab.IssueTokenAsync("demo");
        var known = keystone.CachedTokens;
        Assert.Equal(HttpStatusCode.OK, (await lab.ViaProxyAsync(HttpMethod.Get, "/v2.0/networks", token: demo)).Status);
        Assert.Equal(HttpStatusCode.OK, (await lab.ViaProxyAsync(HttpMethod.Get, "/v2.0/extensions", token: demo)).Status);
        Assert.Equal(known, keystone.CachedTokens);

        // A token Neutron refuses: Neutron's own 401 (keystonemiddleware's shape and header), not the product's.
        foreach (var path in (string[])["/v2.0/networks", "/v2.0/extensions"])
        {
            var refused = await lab.ViaProxyAsync(HttpMethod.Get, path, token: "gAAAAABbogus-token-of-nobody");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.Status);
            Assert.Equal(401, (int)refused.Json["error"]!["code"]!);
            Assert.StartsWith("Keystone uri=", refused.Headers["WWW-Authenticate"], StringComparison.Ordinal);
        }

        // The product's own resources stay the product's to authenticate.
        var ours = await lab.ViaProxyAsync(HttpMethod.Get, "/v2.0/l2-gateways", token: "gAAAAABbogus-token-of-nobody");
        Assert.Equal(HttpStatusCode.Unauthorized, ours.Status);
        Assert.Equal("HTTPUnauthorized", (string?)ours.Json["NeutronError"]!["type"]);
        Assert.Equal(HttpStatusCode.Forbidden, (await lab.ViaProxyAsync(HttpMethod.Get, "/v2.0/l2-gateways", token: demo)).Status);
        Assert.Equal(known + 1, keystone.CachedTokens);
    }

    [Fact]
    public async Task The_extension_list_is_neutron_s_plus_the_product_s_two()
    {
        var direct = (await lab.DirectAsync(HttpMethod.Get, "/v2.0/extensions")).Json["extensions"]!.AsArray();
        var proxied = await lab.ViaProxyAsync(HttpMethod.Get, "/v2.0/extensions");
        Assert.Equal(HttpStatusCode.OK, proxied.Status);
        Assert.Equal(proxied.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), proxied.Headers["Content-Length"]);
        var merged = proxied.Json["extensions"]!.AsArray();
        var aliases = merged.Select(e => (string)e!["alias"]!).ToList();
        Assert.Equal(aliases.Count, aliases.Distinct().Count());
        Assert.Equal(
            direct.Select(e => (string)e!["alias"]!).Union(["l2-gateway", "l2-gateway-connection"]).Order(StringComparer.Ordinal),
            aliases.Order(StringComparer.Ordinal));
        Assert.Contains("provider", aliases);
        foreach (var alias in (string[])["l2-gateway", "l2-gateway-connection"])
        {
            var extension = merged.Single(e => (string?)e!["alias"] == alias)!.AsObject();
            Assert.Equal(ExtensionKeys, extension.Select(p => p.Key).Order(StringComparer.Ordinal));
            var one = await lab.ViaProxyAsync(HttpMethod.Get, $"/v2.0/extensions/{alias}");
            Assert.Equal(HttpStatusCode.OK, one.Status);
            Assert.Equal(extension.ToJsonString(), one.Json["extension"]!.ToJsonString());
        }

        var provider = await lab.ViaProxyAsync(HttpMethod.Get, "/v2.0/extensions/provider");
        Assert.Equal((await lab.DirectAsync(HttpMethod.Get, "/v2.0/extensions/provider")).Text, provider.Text);
    }

    [Fact]
    public async Task Version_discovery_names_the_product()
    {
        var root = lab.Proxy.GetLeftPart(UriPartial.Authority);
        var versions = await Wire.SendAsync(lab.Proxy, HttpMethod.Get, "/", token: null);
        Assert.Equal(HttpStatusCode.OK, versions.Status);
        Assert.Equal(root + "/v2.0/", (string?)versions.Json["versions"]![0]!["links"]![0]!["href"]);
        Assert.Equal("CURRENT", (string?)versions.Json["versions"]![0]!["status"]);

        var resources = await lab.ViaProxyAsync(HttpMethod.Get, "/v2.0/");
        Assert.Equal(HttpStatusCode.OK, resources.Status);
        Assert.All(
            resources.Json["resources"]!.AsArray(),
            r => Assert.StartsWith(root + "/v2.0/", (string)r!["links"]![0]!["href"]!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unreachable_neutron_is_a_neutron_error_not_a_bare_502()
    {
        await using var proxy = await BareProxy.StartAsync($"http://127.0.0.1:{Ports.Free()}");
        var answer = await Wire.SendAsync(proxy.Url, HttpMethod.Get, "/v2.0/networks", token: null);
        Assert.Equal(HttpStatusCode.BadGateway, answer.Status);
        Assert.Equal("HTTPBadGateway", (string?)answer.Json["NeutronError"]!["type"]);
        Assert.Contains("unreachable", (string?)answer.Json["NeutronError"]!["message"], StringComparison.Ordinal);
    }

    /// <summary>
    /// Neutron (eventlet's WSGI server, WebOb bodies) always answers with a Content-Length, so this one case needs an
    /// upstream that streams: it sends its first chunk, and sends the second only once the client has read the first
    /// through the proxy. A proxy that buffered would never deliver the first chunk, and the test would fail.
    /// </summary>
    [Fact]
    public async Task A_chunked_answer_streams_through_chunk_by_chunk()
    {
        var firstRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var upstreamBuilder = WebApplication.CreateSlimBuilder();
        upstreamBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var upstream = upstreamBuilder.Build();
        upstream.MapGet("/v2.0/stream", async (HttpContext http) =>
        {
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync("[\"first\"", http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            await firstRead.Task.WaitAsync(TimeSpan.FromSeconds(60), http.RequestAborted);
            await http.Response.WriteAsync(",\"second\"]", http.RequestAborted);
        });
        await upstream.StartAsync();

        await using var proxy = await BareProxy.StartAsync(ServerHost.Urls(upstream)[0]);
        using var http = new HttpClient { BaseAddress = proxy.Url };
        using var response = await http.GetAsync("/v2.0/stream", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(response.Headers.TransferEncodingChunked);
        Assert.Null(response.Content.Headers.ContentLength);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64];
        var text = new StringBuilder();
        while (!text.ToString().Contains("\"first\"", StringComparison.Ordinal))
        {
            var read = await body.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.NotEqual(0, read);
            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        Assert.DoesNotContain("second", text.ToString(), StringComparison.Ordinal);
        firstRead.SetResult();
        using var reader = new StreamReader(body);
        text.Append(await reader.ReadToEndAsync());
        Assert.Equal("[\"first\",\"second\"]", text.ToString());
    }

    /// <summary>A noauth product in proxy mode in front of <paramref name="neutron"/>, in a folder of its own.</summary>
    private sealed class BareProxy : IAsyncDisposable
    {
        private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-proxy-" + Guid.NewGuid().ToString("N"));
        private WebApplication app = null!;

        public Uri Url { get; private set; } = null!;

        public static async Task<BareProxy> StartAsync(string neutron)
        {
            var proxy = new BareProxy();
            proxy.app = ServerHost.Build(new ServerOptions { Bind = "127.0.0.1:0", DataDir = proxy.directory, NeutronProxy = true, NeutronUrl = neutron });
            await ServerHost.StartAsync(proxy.app);
            proxy.Url = new Uri(ServerHost.Urls(proxy.app)[0]);
            return proxy;
        }

        public async ValueTask DisposeAsync()
        {
            await app.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        }
    }
}

public sealed class NeutronProxyConfigurationTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    [Fact]
    public void Neutron_url_and_proxy_come_from_flag_variable_or_file()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "[neutron]\nurl = http://neutron.example:9696\nproxy = True\n");
            var fromFile = ServerConfiguration.Load(["--config-file", file], NoEnvironment);
            Assert.Equal("http://neutron.example:9696", fromFile.NeutronUrl);
            Assert.True(fromFile.NeutronProxy);

            var fromEnv = ServerConfiguration.Load(
                ["--config-file", file], new Dictionary<string, string?> { ["L2GW_NEUTRON_URL"] = "http://env:9696", ["L2GW_NEUTRON_PROXY"] = "off" });
            Assert.Equal("http://env:9696", fromEnv.NeutronUrl);
            Assert.False(fromEnv.NeutronProxy);

            var fromFlags = ServerConfiguration.Load(["--config-file", file, "--neutron-url=http://flag:9696", "--neutron-proxy", "no"], NoEnvironment);
            Assert.Equal("http://flag:9696", fromFlags.NeutronUrl);
            Assert.False(fromFlags.NeutronProxy);
        }
        finally
        {
            File.Delete(file);
        }

        var defaults = ServerConfiguration.Load([], NoEnvironment);
        Assert.Null(defaults.NeutronUrl);
        Assert.False(defaults.NeutronProxy);
    }

    [Fact]
    public void A_proxy_flag_that_is_not_a_boolean_is_a_one_line_error()
    {
        var error = Assert.Throws<ConfigurationException>(() => ServerConfiguration.Load(["--neutron-proxy", "ture"], NoEnvironment));
        Assert.Equal("invalid neutron.proxy 'ture': expected a boolean (true/false, yes/no, on/off, 1/0)", error.Message);
    }

    [Theory]
    [InlineData(null, "[neutron] proxy = true needs Neutron's URL: --neutron-url or [neutron] url")]
    [InlineData("neutron:9696", "invalid Neutron URL 'neutron:9696': expected http://HOST:PORT")]
    [InlineData("ftp://neutron:9696", "invalid Neutron URL 'ftp://neutron:9696': expected http://HOST:PORT")]
    public void A_proxy_without_a_usable_neutron_url_does_not_start(string? url, string message)
    {
        var error = Assert.Throws<ConfigurationException>(() => ServerHost.Build(new ServerOptions { Bind = "127.0.0.1:0", NeutronProxy = true, NeutronUrl = url }));
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("http://neutron:9696", "http://neutron:9696/")]
    [InlineData("http://neutron:9696/", "http://neutron:9696/")]
    [InlineData("http://neutron:9696/v2.0/", "http://neutron:9696/")]
    [InlineData("https://cloud.example/networking/v2.0", "https://cloud.example/networking")]
    public void The_neutron_url_is_taken_with_or_without_its_version(string url, string root) =>
        Assert.Equal(root, NeutronProxy.NeutronRoot(new ServerOptions { NeutronUrl = url }).AbsoluteUri);
}
