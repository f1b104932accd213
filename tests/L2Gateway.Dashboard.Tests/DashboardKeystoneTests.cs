using L2Gateway.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace L2Gateway.Dashboard.Tests;

/// <summary>
/// The dashboard under <c>auth_strategy = keystone</c>, against the real Keystone of the OpenStack lab: a login first,
/// then the data, with a pasted token or a password the server relays to Keystone; the policy still applies.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class DashboardKeystoneTests(BrowserFixture browser)
{
    [Fact]
    public async Task Under_keystone_the_page_asks_for_a_login_and_shows_the_data_with_a_token_or_a_password()
    {
        await using var service = await ServiceProcess.StartAsync($"""
            [DEFAULT]
            auth_strategy = keystone
            [keystone_authtoken]
            www_authenticate_uri = {OpenStackLab.KeystoneUrl}
            """);
        await service.ExplainingFailuresAsync(async () =>
        {
            var admin = OpenStackLab.Credentials("admin");
            var demo = OpenStackLab.Credentials("demo");
            var token = await OpenStackLab.IssueTokenAsync("admin");
            var name = "dash-ks-" + Guid.NewGuid().ToString("N")[..8];
            await service.SendAsync(HttpMethod.Post, "/v2.0/l2-gateways", $$$"""{"l2_gateway":{"name":"{{{name}}}","devices":[{"device_name":"{{{name}}}-tor","interfaces":[{"name":"p1"}]}]}}""", token);

            // No token: a login, and nothing of the data.
            var page = await browser.NewPageAsync();
            await page.GotoAsync(new Uri(service.Url, "dashboard").ToString());
            var login = page.Locator("#login");
            var content = page.Locator("#content");
            var gateway = page.Locator($".gateway[data-gateway='{name}']");
            await Expect(login).ToBeVisibleAsync();
            await Expect(page.Locator("#login-message")).ToContainTextAsync("Keystone");
            await Expect(content).ToBeHiddenAsync();
            await Artifacts.ScreenshotAsync(page, "dashboard-login.png");

            // A token Keystone does not know is refused; a good one shows the data.
            await page.Locator("#token-form textarea[name='token']").FillAsync("gAAAAA-not-a-token");
            await page.GetByRole(AriaRole.Button, new() { Name = "Use token" }).ClickAsync();
            await Expect(page.Locator("#login-message")).ToContainTextAsync("refused your token");
            await Expect(content).ToBeHiddenAsync();
            await page.Locator("#token-form textarea[name='token']").FillAsync(token);
            await page.GetByRole(AriaRole.Button, new() { Name = "Use token" }).ClickAsync();
            await Expect(gateway).ToBeVisibleAsync();
            await Expect(page.Locator($"#switches tr[data-switch='{name}-tor']")).ToContainTextAsync("no agent serves it");
            await Expect(login).ToBeHiddenAsync();

            // Logged out, a wrong password is refused with Keystone's word; the right one shows the data again.
            await page.Locator("#logout").ClickAsync();
            await Expect(login).ToBeVisibleAsync();
            await LogInAsync(page, admin, password: "not-" + admin["OS_PASSWORD"]);
            await Expect(page.Locator("#login-error")).ToContainTextAsync("Keystone refused these credentials");
            await Expect(content).ToBeHiddenAsync();
            await LogInAsync(page, admin);
            await Expect(gateway).ToBeVisibleAsync();
            await Expect(page.Locator("#who")).ToContainTextAsync($"{admin["OS_USERNAME"]} (project {admin["OS_PROJECT_NAME"]})");

            // A member without the admin role logs in and is told the policy does not allow the dashboard.
            await page.Locator("#logout").ClickAsync();
            await LogInAsync(page, demo);
            await Expect(page.Locator("#forbidden")).ToBeVisibleAsync();
            await Expect(page.Locator("#forbidden-message")).ToContainTextAsync("rule:get_l2gw_dashboard is disallowed by policy");
            await Expect(content).ToBeHiddenAsync();
        });
    }

    private static async Task LogInAsync(IPage page, Dictionary<string, string> user, string? password = null)
    {
        var form = page.Locator("#password-form");
        await form.Locator("input[name='username']").FillAsync(user["OS_USERNAME"]);
        await form.Locator("input[name='password']").FillAsync(password ?? user["OS_PASSWORD"]);
        await form.Locator("input[name='project']").FillAsync(user["OS_PROJECT_NAME"]);
        await form.Locator("input[name='userDomain']").FillAsync(user.GetValueOrDefault("OS_USER_DOMAIN_NAME") ?? "Default");
        await form.Locator("input[name='projectDomain']").FillAsync(user.GetValueOrDefault("OS_PROJECT_DOMAIN_NAME") ?? "Default");
        await form.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
    }
}
