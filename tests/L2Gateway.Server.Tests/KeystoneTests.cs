using System.Net;
using System.Text;
using L2Gateway.Core;
using L2Gateway.Server.Api;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;

namespace L2Gateway.Server.Tests;

/// <summary>auth_strategy=keystone against the real Keystone of the OpenStack lab, with tokens the openstack client issues.</summary>
public sealed class KeystoneTests : IAsyncLifetime
{
    private readonly string dir = Path.Combine(Path.GetTempPath(), "l2gw-ks-" + Guid.NewGuid().ToString("N"));
    private readonly List<WebApplication> servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }

        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private async Task<Uri> StartServerAsync(string keystoneUrl, int tokenCacheTime = 300)
    {
        var app = ServerHost.Build(new ServerOptions
        {
            Bind = "127.0.0.1:0",
            DataDir = Path.Combine(dir, servers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            AuthStrategy = AuthStrategy.Keystone,
            KeystoneUrl = keystoneUrl,
            TokenCacheTime = tokenCacheTime,
        });
        servers.Add(app);
        await ServerHost.StartAsync(app);
        return new Uri(ServerHost.Urls(app)[0]);
    }

    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(Uri server, HttpMethod method, string path, string? token, string? body = null)
    {
        using var http = new HttpClient { BaseAddress = server };
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Add("X-Auth-Token", token);
        }

        // Under keystone the noauth headers mean nothing.
        request.Headers.Add("X-Roles", "admin");
        request.Headers.Add("X-Project-Id", "forged");
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/v3")]
    [InlineData("/v3/")]
    [InlineData("")]
    [InlineData("/")]
    public async Task Real_tokens_get_in_bogus_ones_do_not_whatever_the_url_form(string suffix)
    {
        var root = OpenStackLab.KeystoneUrl.GetLeftPart(UriPartial.Authority);
        var server = await StartServerAsync(root + suffix);
        var admin = await OpenStackLab.IssueTokenAsync("admin");
        var adminProject = await OpenStackLab.ProjectIdAsync("admin");

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(server, HttpMethod.Get, "/v2.0/l2-gateways", admin)).Status);
        var (status, body) = await SendAsync(
            server, HttpMethod.Post, "/v2.0/l2-gateways", admin, """{"l2_gateway":{"name":"k","devices":[{"device_name":"s","interfaces":[{"name":"e"}]}]}}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Contains($"\"tenant_id\":\"{adminProject}\"", body, StringComparison.Ordinal);

        (status, body) = await SendAsync(server, HttpMethod.Get, "/v2.0/l2-gateways", "gAAAAABbogus-token-of-nobody");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("NeutronError", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(server, HttpMethod.Get, "/v2.0/l2-gateways", null)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(server, HttpMethod.Get, "/", null)).Status);
    }

    [Fact]
    public async Task Roles_and_project_come_from_the_token()
    {
        var server = await StartServerAsync(OpenStackLab.KeystoneUrl.ToString());
        var demo = await OpenStackLab.IssueTokenAsync("demo");

        // The default policy is the reference's: gateways are admin-only; demo is a member.
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(server, HttpMethod.Get, "/v2.0/l2-gateways", demo)).Status);
    }

    [Fact]
    public async Task A_revoked_token_is_refused_once_its_cache_entry_expires()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        using var keystone = new KeystoneAuth(OpenStackLab.KeystoneUrl, TimeSpan.FromSeconds(300), clock);
        var token = await OpenStackLab.IssueTokenAsync("admin");
        var caller = await keystone.AuthenticateAsync(token, default);
        Assert.Contains("admin", caller.Roles);
        Assert.Equal(await OpenStackLab.ProjectIdAsync("admin"), caller.ProjectId);

        await OpenStackLab.RevokeTokenAsync(token);

        // Trusted from the cache for token_cache_time (300 s by default), as keystonemiddleware does...
        clock.Advance(TimeSpan.FromSeconds(299));
        Assert.Same(caller, await keystone.AuthenticateAsync(token, default));

        // ...then asked again, and refused.
        clock.Advance(TimeSpan.FromSeconds(2));
        var refused = await Assert.ThrowsAsync<L2GatewayException>(() => keystone.AuthenticateAsync(token, default));
        Assert.Equal(ErrorKind.Unauthorized, refused.Kind);
    }

    [Fact]
    public async Task With_the_cache_off_a_revoked_token_is_refused_at_once()
    {
        var server = await StartServerAsync(OpenStackLab.KeystoneUrl.ToString(), tokenCacheTime: -1);
        var token = await OpenStackLab.IssueTokenAsync("admin");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(server, HttpMethod.Get, "/v2.0/l2-gateways", token)).Status);
        await OpenStackLab.RevokeTokenAsync(token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(server, HttpMethod.Get, "/v2.0/l2-gateways", token)).Status);
    }

    [Fact]
    public async Task The_token_cache_is_bounded()
    {
        using var keystone = new KeystoneAuth(OpenStackLab.KeystoneUrl, TimeSpan.FromSeconds(300), maxCachedTokens: 2);
        for (var i = 0; i < 4; i++)
        {
            await keystone.AuthenticateAsync(await OpenStackLab.IssueTokenAsync(i % 2 == 0 ? "admin" : "demo"), default);
            Assert.InRange(keystone.CachedTokens, 1, 2);
        }
    }

    [Fact]
    public async Task An_unreachable_keystone_is_503_not_a_500_or_a_pass()
    {
        var server = await StartServerAsync($"http://127.0.0.1:{Ports.Free()}/v3");
        var (status, body) = await SendAsync(server, HttpMethod.Get, "/v2.0/networks", "any-token");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("identity service", body, StringComparison.Ordinal);
    }
}
