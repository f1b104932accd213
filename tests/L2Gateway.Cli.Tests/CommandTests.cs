using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using L2Gateway.Server;
using L2Gateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace L2Gateway.Cli.Tests;

/// <summary>Our own commands against a real server: exit codes, errors, the catalog, agents, switches, FDB, help, completion, auth.</summary>
public sealed class CommandTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private Result Ok(params string[] args)
    {
        var result = server.L2gw(args);
        Assert.True(result.Exit == 0, $"l2gw {string.Join(' ', args)}: {result}");
        return result;
    }

    private JsonNode Json(params string[] args) => JsonNode.Parse(Ok([.. args, "-f", "json"]).Out)!;

    [Fact]
    public void Errors_are_one_line_with_distinct_exit_codes()
    {
        var notFound = server.L2gw("show", "missing");
        Assert.Equal(3, notFound.Exit);
        Assert.Equal("Unable to find l2_gateway with name or id 'missing'\n", notFound.Err);

        var usage = server.L2gw("list", "--bogus");
        Assert.Equal(2, usage.Exit);
        Assert.Contains("unrecognized arguments: --bogus", usage.Err, StringComparison.Ordinal);
        Assert.Equal(2, server.L2gw("show").Exit);
        Assert.Equal(2, server.L2gw("list", "-f", "xml").Exit);
        Assert.Equal(2, server.L2gw("frobnicate").Exit);
        Assert.Equal(2, server.L2gw("list", "-c", "Nope").Exit);

        var invalid = server.L2gw("create", "bad", "--device", "name=sw,interface_names=a|100;b");
        Assert.Equal(1, invalid.Exit);
        Assert.Single(invalid.Err.TrimEnd('\n').Split('\n'));
        Assert.Contains("consistent", invalid.Err, StringComparison.Ordinal);

        var unreachable = server.L2gwWith(new Dictionary<string, string> { ["OS_ENDPOINT"] = "http://127.0.0.1:1" }, "list");
        Assert.Equal(5, unreachable.Exit);
        Assert.Equal("Unable to establish connection to http://127.0.0.1:1/v2.0/l2-gateways: Connection refused\n", unreachable.Err);
        var flag = server.L2gw("--os-url", "http://127.0.0.1:1", "list");
        Assert.Equal(5, flag.Exit);
    }

    [Fact]
    public async Task Names_resolve_and_ambiguous_names_list_the_candidates()
    {
        await server.ReportSwitchAsync("amb-sw", "e1");
        var a = (string)Json("create", "twin", "--device", "name=amb-sw,interface_names=e1|10")["ID"]!;
        var b = (string)Json("create", "twin", "--device", "name=amb-sw,interface_names=e1|11")["ID"]!;
        var ambiguous = server.L2gw("show", "twin");
        Assert.Equal(4, ambiguous.Exit);
        Assert.Contains(a, ambiguous.Err, StringComparison.Ordinal);
        Assert.Contains(b, ambiguous.Err, StringComparison.Ordinal);
        Assert.Equal(a, (string)Json("show", a)["ID"]!);

        var partial = server.L2gw("delete", a, "nothing-here");
        Assert.Equal(3, partial.Exit);
        Assert.Contains("Failed to delete 1 of 2 L2 Gateway.", partial.Err, StringComparison.Ordinal);
        Assert.Equal(b, (string)Json("show", "twin")["ID"]!);
        Ok("l2-gateway-delete", "twin");
    }

    [Fact]
    public async Task Legacy_verbs_are_aliases()
    {
        await server.ReportSwitchAsync("legacy-sw", "e1");
        var created = JsonNode.Parse(Ok("l2-gateway-create", "legacy", "--device", "name=legacy-sw,interface_names=e1", "-f", "json").Out)!;
        var id = (string)created["ID"]!;
        Assert.Equal(Ok("list", "-f", "json").Out, Ok("l2-gateway-list", "-f", "json").Out);
        Assert.Equal(Ok("show", id).Out, Ok("l2-gateway-show", id).Out);
        Assert.Equal("legacy2", (string)JsonNode.Parse(Ok("l2-gateway-update", id, "--name", "legacy2", "-f", "json").Out)!["Name"]!);
        Ok("network", "create", "legacy-net", "--provider-segment", "7001");
        var connection = (string)JsonNode.Parse(Ok("l2-gateway-connection-create", "legacy2", "legacy-net", "--default-segmentation-id", "9", "-f", "json").Out)!["ID"]!;
        Assert.Equal(Ok("connection", "list", "-f", "yaml").Out, Ok("l2-gateway-connection-list", "-f", "yaml").Out);
        Assert.Equal(Ok("connection", "show", connection).Out, Ok("l2-gateway-connection-show", connection).Out);
        Assert.Contains("status", Ok("connection", "show", connection).Out, StringComparison.Ordinal);
        Ok("l2-gateway-connection-delete", connection);
        Ok("l2-gateway-delete", "legacy2");
        Ok("network", "delete", "legacy-net");
    }

    [Fact]
    public async Task Catalog_agents_switches_and_fdb()
    {
        var network = Json("network", "create", "cat-net", "--provider-segment", "6001");
        Assert.Equal("vxlan", (string?)network["provider:network_type"]);
        Assert.Contains(Json("network", "list").AsArray(), n => (string?)n!["Name"] == "cat-net");
        Assert.Equal(6001, (int)Json("network", "show", "cat-net")["provider:segmentation_id"]!);

        var host = Json("host", "create", "cat-host", "--tunnel-ip", "192.0.2.11");
        Assert.Equal("192.0.2.11", (string?)host["tunnel_ip"]);
        Assert.Contains(Json("host", "list").AsArray(), h => (string?)h!["Tunnel IP"] == "192.0.2.11");
        Assert.Equal("cat-host", (string?)Json("host", "show", "cat-host")["name"]);

        var port = Json("port", "create", "cat-port", "--network", "cat-net", "--mac-address", "02:00:00:00:00:21", "--fixed-ip", "ip-address=192.168.7.21", "--host", "cat-host");
        Assert.Equal("02:00:00:00:00:21", (string?)port["mac_address"]);
        Assert.Contains(Json("port", "list", "--network", "cat-net").AsArray(), p => (string?)p!["Name"] == "cat-port");
        Assert.Contains("ip_address='192.168.7.21'", Ok("port", "list").Out, StringComparison.Ordinal);
        Assert.Equal("cat-port", (string?)Json("port", "show", "cat-port")["name"]);

        await server.ReportSwitchAsync("cat-sw", "e1", "e2");
        var switches = Json("switch", "list", "--long").AsArray();
        Assert.Contains(switches, s => (string?)s!["Name"] == "cat-sw" && (string?)s["Fault Status"] == "UP");
        var sw = Json("switch", "show", "cat-sw");
        Assert.Equal(2, sw["ports"]!.AsArray().Count);
        Assert.Equal(3, server.L2gw("switch", "show", "no-such-switch").Exit);

        using (var http = new HttpClient())
        {
            using var report = new StringContent("""{"host":"cat-agent-host","started_at":"2026-01-01T00:00:00Z","switches":[]}""", Encoding.UTF8, "application/json");
            var response = await http.PostAsync(server.Endpoint + "/v2.0/l2gw-agent/report", report);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        var agents = Json("agent", "list", "--long").AsArray();
        var agent = Assert.Single(agents, a => (string?)a!["Host"] == "cat-agent-host")!;
        Assert.Equal("L2 Gateway agent", (string?)agent["Agent Type"]);
        var agentId = (string)agent["ID"]!;
        Assert.Equal("cat-agent-host", (string?)Json("agent", "show", agentId)["host"]);
        Assert.Equal(3, server.L2gw("agent", "show", Guid.NewGuid().ToString()).Exit);

        var fdb = server.L2gw("fdb", "cat-net", "-f", "json");
        Assert.True(fdb.Exit == 0, fdb.ToString());
        Assert.IsType<JsonArray>(JsonNode.Parse(fdb.Out));
        Assert.Equal(3, server.L2gw("fdb", "no-such-net").Exit);

        Ok("port", "delete", "cat-port");
        Ok("host", "delete", "cat-host");
        Ok("network", "delete", "cat-net");
        Assert.DoesNotContain(Json("network", "list").AsArray(), n => (string?)n!["Name"] == "cat-net");
    }

    [Fact]
    public void Help_version_completion_and_debug()
    {
        Assert.Equal("l2gw 2026.2.0\n", Ok("--version").Out);
        foreach (var command in Commands.All)
        {
            var help = Ok([.. command.Path, "--help"]).Out;
            Assert.Contains("usage: l2gw " + command.Name, help, StringComparison.Ordinal);
            Assert.Contains("example:\n  l2gw ", help, StringComparison.Ordinal);
        }

        Assert.Contains("connection create", Ok("--help").Out, StringComparison.Ordinal);
        var bash = Ok("completion", "bash").Out;
        Assert.Contains("complete -F _l2gw l2gw", bash, StringComparison.Ordinal);
        Assert.Contains("--default-segmentation-id", bash, StringComparison.Ordinal);
        Assert.Contains("bashcompinit", Ok("completion", "zsh").Out, StringComparison.Ordinal);
        Assert.Equal(2, server.L2gw("completion", "fish").Exit);

        var debug = Ok("--debug", "list");
        Assert.Contains("REQ: curl -g -i -X GET " + server.Endpoint + "/v2.0/l2-gateways", debug.Err, StringComparison.Ordinal);
        Assert.Contains("RESP: [200]", debug.Err, StringComparison.Ordinal);
    }

    [Fact]
    public void Bash_completion_completes_commands()
    {
        var script = Ok("completion", "bash").Out;
        var file = Path.Combine(Path.GetTempPath(), "l2gw-completion-" + Guid.NewGuid().ToString("N") + ".sh");
        File.WriteAllText(file, script + "\nCOMP_WORDS=(l2gw connection cr); COMP_CWORD=2; _l2gw; echo \"${COMPREPLY[@]}\"\n"
            + "COMP_WORDS=(l2gw connection create --def); COMP_CWORD=3; _l2gw; echo \"${COMPREPLY[@]}\"\n");
        try
        {
            var output = ChildProcess.Run("bash", [file], TimeSpan.FromMinutes(1)).Out;
            Assert.Equal("create\n--default-segmentation-id\n", output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Keystone_password_and_clouds_yaml()
    {
        // A stand-in Keystone: issues a token and a catalog whose network endpoint is the real server.
        var tokens = new List<string?>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var keystone = builder.Build();
        keystone.MapPost("/v3/auth/tokens", async (HttpContext http) =>
        {
            var body = await JsonNode.ParseAsync(http.Request.Body);
            var user = body!["auth"]!["identity"]!["password"]!["user"]!;
            if ((string?)user["name"] != "admin" || (string?)user["password"] != "secret")
            {
                return Results.Json(new { error = new { message = "The request you have made requires authentication.", code = 401 } }, statusCode: 401);
            }

            tokens.Add((string?)body["auth"]!["scope"]?["project"]?["name"]);
            http.Response.Headers["X-Subject-Token"] = "tok-123";
            var catalog = new JsonObject
            {
                ["token"] = new JsonObject
                {
                    ["catalog"] = new JsonArray(new JsonObject
                    {
                        ["type"] = "network",
                        ["endpoints"] = new JsonArray(new JsonObject { ["interface"] = "public", ["region"] = "RegionOne", ["url"] = server.Endpoint }),
                    }),
                },
            };
            return Results.Text(catalog.ToJsonString(), "application/json", statusCode: 201);
        });
        await keystone.StartAsync();
        var authUrl = ServerHost.Urls(keystone)[0].TrimEnd('/') + "/v3";

        var env = new Dictionary<string, string>
        {
            ["OS_ENDPOINT"] = "",
            ["OS_AUTH_URL"] = authUrl,
            ["OS_USERNAME"] = "admin",
            ["OS_PASSWORD"] = "secret",
            ["OS_PROJECT_NAME"] = "admin",
            ["OS_USER_DOMAIN_NAME"] = "Default",
            ["OS_PROJECT_DOMAIN_NAME"] = "Default",
        };
        var listed = server.L2gwWith(env, "--debug", "list", "-f", "json");
        Assert.True(listed.Exit == 0, listed.ToString());
        Assert.Contains("X-Auth-Token: {SHA256}", listed.Err, StringComparison.Ordinal);
        Assert.Contains(server.Endpoint + "/v2.0/l2-gateways", listed.Err, StringComparison.Ordinal);
        Assert.Equal(["admin"], tokens);

        env["OS_PASSWORD"] = "wrong";
        var denied = server.L2gwWith(env, "list");
        Assert.Equal(6, denied.Exit);
        Assert.Contains("requires authentication", denied.Err, StringComparison.Ordinal);

        var directory = Path.Combine(Path.GetTempPath(), "l2gw-clouds-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var clouds = Path.Combine(directory, "clouds.yaml");
        await File.WriteAllTextAsync(clouds, $"""
            clouds:
              lab:
                auth:
                  auth_url: {authUrl}
                  username: admin
                  password: 'secret'
                  project_name: demo
                  user_domain_name: Default
                  project_domain_name: Default
                region_name: RegionOne
            """);
        try
        {
            var fromCloud = server.L2gwWith(new Dictionary<string, string> { ["OS_ENDPOINT"] = "", ["OS_CLOUD"] = "lab", ["OS_CLIENT_CONFIG_FILE"] = clouds }, "list");
            Assert.True(fromCloud.Exit == 0, fromCloud.ToString());
            Assert.Equal("demo", tokens[^1]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        await keystone.StopAsync();
    }

    [Fact]
    public void The_built_program_answers_version_and_exit_codes()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "l2gw.dll");
        var version = Run(dll, "--version");
        Assert.Equal((0, "l2gw 2026.2.0\n"), (version.Exit, version.Out));
        var unreachable = Run(dll, "--os-endpoint", "http://127.0.0.1:1", "list");
        Assert.Equal(5, unreachable.Exit);
        Assert.DoesNotContain("   at ", unreachable.Err, StringComparison.Ordinal);
        var list = Run(dll, "--os-endpoint", server.Endpoint, "list", "-f", "json");
        Assert.Equal(0, list.Exit);
        Assert.IsType<JsonArray>(JsonNode.Parse(list.Out));
    }

    private static Result Run(string dll, params string[] args)
    {
        var result = ChildProcess.Run("dotnet", [dll, .. args], TimeSpan.FromMinutes(1), start =>
        {
            foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("OS_", StringComparison.Ordinal)).ToList())
            {
                start.Environment.Remove(key);
            }
        });
        return new Result(result.Exit, result.Out, result.Err);
    }
}
