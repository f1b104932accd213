using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace L2Gateway.Server.Tests;

/// <summary>
/// A stand-in for Keystone v3's token validation (no Keystone runs on this machine): it answers
/// <c>GET /v3/auth/tokens</c> the way Keystone does for a few fixed tokens and counts the calls.
/// </summary>
public sealed class KeystoneServerFixture : ServerFixture
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-ks-" + Guid.NewGuid().ToString("N"));
    private WebApplication? keystone;

    private int validations;

    public int Validations => Volatile.Read(ref validations);

    protected override async Task<string> DatabaseUrlAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        keystone = builder.Build();
        keystone.Urls.Add("http://127.0.0.1:0");
        keystone.MapGet("/v3/auth/tokens", (HttpContext http) =>
        {
            Interlocked.Increment(ref validations);
            var token = http.Request.Headers["X-Subject-Token"].ToString();
            if (token != http.Request.Headers["X-Auth-Token"].ToString())
            {
                return Results.StatusCode(403);
            }

            var (project, role, expires) = token switch
            {
                "admin-token" => ("p-admin", "admin", DateTime.UtcNow.AddHours(1)),
                "member-token" => ("p-member", "member", DateTime.UtcNow.AddHours(1)),
                "expired-token" => ("p-member", "member", DateTime.UtcNow.AddHours(-1)),
                _ => (null, null, default),
            };
            return project is null
                ? Results.NotFound()
                : Results.Text(
                    $$$$"""{"token":{"expires_at":"{{{{expires:yyyy-MM-ddTHH:mm:ss.ffffffZ}}}}","roles":[{"id":"r1","name":"{{{{role}}}}"}],"project":{"id":"{{{{project}}}}","name":"x"},"user":{"id":"u-{{{{role}}}}"}}}""",
                    "application/json");
        });
        await keystone.StartAsync();
        return "sqlite:///" + Path.Combine(directory, "db.sqlite").TrimStart('/');
    }

    protected override void Configure(ServerOptions options)
    {
        options.AuthStrategy = AuthStrategy.Keystone;
        options.KeystoneUrl = keystone!.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (keystone is not null)
        {
            await keystone.DisposeAsync();
        }

        Directory.Delete(directory, recursive: true);
    }
}

public sealed class KeystoneTests(KeystoneServerFixture server) : IClassFixture<KeystoneServerFixture>
{
    private async Task<(HttpStatusCode, string)> SendAsync(HttpMethod method, string path, string? token, string? body = null)
    {
        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Add("X-Auth-Token", token);
        }

        // Under keystone the noauth headers mean nothing.
        request.Headers.Add("X-Roles", "admin");
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Tokens_are_validated_cached_and_carry_roles_and_project()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/v2.0/l2-gateways", null)).Item1);
        var (status, body) = await SendAsync(HttpMethod.Get, "/v2.0/l2-gateways", "forged-token");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("NeutronError", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/v2.0/l2-gateways", "expired-token")).Item1);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/", null)).Item1);

        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Get, "/v2.0/l2-gateways", "member-token")).Item1);
        (status, body) = await SendAsync(
            HttpMethod.Post, "/v2.0/l2-gateways", "admin-token", """{"l2_gateway":{"name":"k","devices":[{"device_name":"s","interfaces":[{"name":"e"}]}]}}""");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Contains("\"tenant_id\":\"p-admin\"", body, StringComparison.Ordinal);

        var before = server.Validations;
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/v2.0/l2-gateways", "admin-token")).Item1);
        }

        Assert.Equal(before, server.Validations);
    }

    [Fact]
    public async Task An_unreachable_keystone_is_503_not_a_500_or_a_pass()
    {
        var dir = Path.Combine(Path.GetTempPath(), "l2gw-ks-down-" + Guid.NewGuid().ToString("N"));
        await using var app = ServerHost.Build(new ServerOptions
        {
            Bind = "127.0.0.1:0",
            DataDir = dir,
            AuthStrategy = AuthStrategy.Keystone,
            KeystoneUrl = $"http://127.0.0.1:{Ports.Free()}",
        });
        await ServerHost.StartAsync(app);
        using var http = new HttpClient { BaseAddress = new Uri(ServerHost.Urls(app)[0]) };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2.0/networks");
        request.Headers.Add("X-Auth-Token", "any-token");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("identity service", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await app.StopAsync();
        Directory.Delete(dir, recursive: true);
    }
}
