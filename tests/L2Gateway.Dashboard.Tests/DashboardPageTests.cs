using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace L2Gateway.Dashboard.Tests;

/// <summary>
/// The dashboard in a real browser, against <c>l2gw-service server</c> with its embedded agent serving two real
/// switch databases: what it shows, and that it follows the switches by itself.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed partial class DashboardPageTests(BrowserFixture browser)
{
    [GeneratedRegex(@"\bok\b")]
    private static partial Regex Ok();

    [GeneratedRegex(@"\bbad\b")]
    private static partial Regex Bad();

    [Fact]
    public async Task The_page_shows_gateways_and_converged_switches_and_turns_a_switch_red_when_its_database_dies()
    {
        using var tor1 = new VtepSwitch("tor1", "192.0.2.11", "p1", "p2");
        using var tor2 = new VtepSwitch("tor2", "192.0.2.12", "p1");
        await using var service = await ServiceProcess.StartAsync($"""
            [DEFAULT]
            host = dash-agent
            [ovsdb]
            ovsdb_hosts = tor1:127.0.0.1:{tor1.Port},tor2:127.0.0.1:{tor2.Port}
            periodic_interval = 2
            socket_timeout = 5
            """);
        await service.ExplainingFailuresAsync(async () =>
        {
            var page = await browser.NewPageAsync();
            await page.GotoAsync(new Uri(service.Url, "dashboard").ToString());

            // The agent reports both switches: connected, each with its tunnel IP and ports.
            var row1 = page.Locator("#switches tr[data-switch='tor1']");
            var row2 = page.Locator("#switches tr[data-switch='tor2']");
            await Expect(row1.Locator(".connected")).ToHaveTextAsync("yes");
            await Expect(row2.Locator(".connected")).ToHaveTextAsync("yes");
            await Expect(row1).ToContainTextAsync("192.0.2.11");
            await Expect(row1).ToContainTextAsync("p2 UP");
            await Expect(page.Locator("#agents tr[data-agent='dash-agent']")).ToContainTextAsync("yes");

            // A network, a gateway on both switches and a connection: the page shows them, and the switches converge.
            var network = (string)(await service.SendAsync(HttpMethod.Post, "/v2.0/networks", """{"network":{"name":"blue","provider:network_type":"vxlan","provider:segmentation_id":5010}}"""))["network"]!["id"]!;
            await service.SendAsync(HttpMethod.Post, "/v2.0/hosts", """{"host":{"name":"compute1","tunnel_ip":"10.0.0.11"}}""");
            await service.SendAsync(HttpMethod.Post, "/v2.0/ports", $$$"""{"port":{"network_id":"{{{network}}}","mac_address":"fa:16:3e:00:00:01","fixed_ips":[{"ip_address":"10.1.0.5"}],"binding:host_id":"compute1"}}""");
            var gateway = (string)(await service.SendAsync(HttpMethod.Post, "/v2.0/l2-gateways", """{"l2_gateway":{"name":"gw-rack1","devices":[{"device_name":"tor1","interfaces":[{"name":"p1"}]},{"device_name":"tor2","interfaces":[{"name":"p1"}]}]}}"""))["l2_gateway"]!["id"]!;
            var connection = (string)(await service.SendAsync(HttpMethod.Post, "/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gateway}}}","network_id":"{{{network}}}","segmentation_id":100}}"""))["l2_gateway_connection"]!["id"]!;

            var card = page.Locator(".gateway[data-gateway='gw-rack1']");
            var connectionRow = card.Locator($"tr[data-connection='{connection}']");
            await Expect(connectionRow).ToContainTextAsync("blue");
            await Expect(connectionRow).ToContainTextAsync("ACTIVE");
            foreach (var row in new[] { row1, row2 })
            {
                await Expect(row).ToHaveClassAsync(Ok());
                await Expect(row.Locator(".state")).ToHaveTextAsync("converged");
            }

            // A MAC the switch learns shows in its count and in the network's FDB, with both switches in the flood list.
            tor1.Vtep("add-ucast-local", network, "02:00:00:00:dd:01", "192.0.2.11");
            var fdb = page.Locator($".network[data-network='{network}']");
            await Expect(fdb).ToContainTextAsync("192.0.2.11, 192.0.2.12");
            await Expect(fdb).ToContainTextAsync("02:00:00:00:dd:01");
            await Expect(row1.Locator("td.num")).ToHaveTextAsync("1");
            await Expect(page.Locator("[data-testid='switch-summary']")).ToContainTextAsync("2 of 2 switches converged");
            await Artifacts.ScreenshotAsync(page, "dashboard-converged.png");

            // tor2's database dies: the page turns it red with the reason, by itself; tor1 stays green.
            tor2.Stop();
            await Expect(row2).ToHaveClassAsync(Bad());
            await Expect(row2.Locator(".state .reason")).ToContainTextAsync("disconnected");
            await Expect(row2.Locator(".connected")).ToHaveTextAsync("no");
            await Expect(row1).ToHaveClassAsync(Ok());
            await Expect(connectionRow).ToContainTextAsync("ERROR");
            await Expect(connectionRow.Locator(".reason-cell")).ToContainTextAsync("switch tor2: unreachable");
            await Expect(page.Locator("[data-testid='switch-summary']")).ToContainTextAsync("1 of 2 switches converged");
            await Expect(page.Locator("#link")).ToHaveTextAsync("live");
            await Artifacts.ScreenshotAsync(page, "dashboard-switch-down.png", docsName: "dashboard.png");

            // The server goes away: the page says so and keeps trying.
            await service.StopAsync();
            await Expect(page.Locator("#link")).ToHaveTextAsync("reconnecting");
        });
    }
}
