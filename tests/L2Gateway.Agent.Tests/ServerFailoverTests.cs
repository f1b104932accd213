using System.Net;
using L2Gateway.Core.Planning;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace L2Gateway.Agent.Tests;

/// <summary>
/// Several servers in <c>l2gw_server_url</c>: the agent uses one at a time and leaves it for the next when it is
/// refused, cut off or answers 5xx; a server that answers 4xx is alive and kept. (Processes killed under a live
/// agent: tests/L2Gateway.ScaleOut.Tests.)
/// </summary>
public sealed class ServerFailoverTests
{
    private static IReadOnlyList<Uri> Urls(string value) =>
        AgentOptions.FromIni(new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["DEFAULT:l2gw_server_url"] = value }).ServerUrls;

    [Fact]
    public void Server_urls_are_a_comma_separated_list_tried_in_order()
    {
        Assert.Equal(
            [new Uri("http://10.0.0.1:9696"), new Uri("http://10.0.0.2:9696/"), new Uri("https://l2gw.example:443/")],
            Urls(" http://10.0.0.1:9696, http://10.0.0.2:9696/ ,https://l2gw.example:443/"));
        Assert.Equal([new Uri("http://127.0.0.1:9696")], new AgentOptions().ServerUrls);
        Assert.Equal(new Uri("http://10.0.0.1:9696"), new AgentOptions { ServerUrls = Urls("http://10.0.0.1:9696,http://10.0.0.2:9696") }.ServerUrl);
    }

    [Theory]
    [InlineData("10.0.0.1:9696", "'10.0.0.1:9696'")]
    [InlineData("http://10.0.0.1:9696,ftp://10.0.0.2", "'ftp://10.0.0.2'")]
    [InlineData(" , ", "lists no server")]
    public void A_list_with_a_url_that_is_not_http_is_refused_naming_it(string value, string message) =>
        Assert.Contains(message, Assert.Throws<FormatException>(() => Urls(value)).Message, StringComparison.Ordinal);

    /// <summary>An HTTP server on a free loopback port that answers every request with <paramref name="status"/>.</summary>
    private static async Task<WebApplication> AnsweringAsync(int status)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Run(http =>
        {
            http.Response.StatusCode = status;
            return http.Response.WriteAsync("""{"switches":[]}""");
        });
        await app.StartAsync();
        return app;
    }

    private static Uri UrlOf(WebApplication app) => new(L2Gateway.Server.ServerHost.Urls(app)[0]);

    private static Task<DesiredStateBatch> PollAsync(ServerLink link) =>
        link.DesiredAsync(new Dictionary<string, string?> { ["tor1"] = null }, 0, CancellationToken.None);

    [Fact]
    public async Task A_server_answering_5xx_is_left_for_the_next_one()
    {
        await using var failing = await AnsweringAsync(503);
        await using var healthy = await AnsweringAsync(200);
        using var link = new ServerLink([UrlOf(failing), UrlOf(healthy)]);

        var error = await Assert.ThrowsAsync<ServerUnavailableException>(() => PollAsync(link));
        Assert.Equal(UrlOf(failing), error.Server);
        Assert.Contains("answered 503", error.Message, StringComparison.Ordinal);
        Assert.Equal(UrlOf(healthy), link.Current);
        Assert.Empty((await PollAsync(link)).Switches);
        Assert.Equal(UrlOf(healthy), link.Current);
    }

    [Fact]
    public async Task A_server_answering_4xx_is_alive_and_kept()
    {
        await using var refusing = await AnsweringAsync(403);
        await using var other = await AnsweringAsync(200);
        using var link = new ServerLink([UrlOf(refusing), UrlOf(other)]);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => PollAsync(link));
        Assert.IsNotType<ServerUnavailableException>(error);
        Assert.Equal(HttpStatusCode.Forbidden, error.StatusCode);
        Assert.Equal(UrlOf(refusing), link.Current);
    }

    [Fact]
    public async Task Refused_connections_move_round_the_list()
    {
        var first = new Uri($"http://127.0.0.1:{SwitchDb.FreePort()}/");
        var second = new Uri($"http://127.0.0.1:{SwitchDb.FreePort()}/");
        using var link = new ServerLink([first, second]);

        Assert.Equal(first, (await Assert.ThrowsAsync<ServerUnavailableException>(() => PollAsync(link))).Server);
        Assert.Equal(second, link.Current);
        Assert.Equal(second, (await Assert.ThrowsAsync<ServerUnavailableException>(() => link.ReportAsync(new AgentReport("h", DateTime.UtcNow, []), CancellationToken.None))).Server);
        Assert.Equal(first, link.Current);
    }

    [Fact]
    public async Task A_server_url_with_a_path_keeps_it()
    {
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        app.Run(http =>
        {
            seen.TrySetResult(http.Request.Path);
            return http.Response.WriteAsync("""{"switches":[]}""");
        });
        await app.StartAsync();
        using var link = new ServerLink([new Uri(UrlOf(app), "networking")]);

        await PollAsync(link);
        Assert.Equal("/networking/v2.0/l2gw-agent/desired-state", await seen.Task);
    }
}
