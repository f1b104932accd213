using System.Net;
using L2Gateway.Server.Api;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace L2Gateway.Server.Tests;

/// <summary>A server with a policy file of its own, in a folder of its own, on SQLite.</summary>
public abstract class PolicyFileServerFixture(string fileName) : ServerFixture
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "l2gw-policy-" + Guid.NewGuid().ToString("N"));

    protected abstract string PolicyText { get; }

    protected override Task<string> DatabaseUrlAsync()
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, fileName), PolicyText);
        return Task.FromResult("sqlite:///" + Path.Combine(directory, "db.sqlite").TrimStart('/'));
    }

    protected override void Configure(ServerOptions options) => options.PolicyFile = Path.Combine(directory, fileName);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }
}

/// <summary>A server whose policy file opens gateway and connection calls to each project's members.</summary>
public sealed class OpenPolicyServerFixture() : PolicyFileServerFixture("policy.yaml")
{
    protected override string PolicyText => """
        # Members manage their own project's gateways and connections.
        "create_l2_gateway": "rule:admin_or_owner"
        "update_l2_gateway": "rule:admin_or_owner"
        "get_l2_gateway": "rule:admin_or_owner"
        "delete_l2_gateway": "rule:admin_or_owner"
        "create_l2_gateway_connection": "rule:admin_or_owner"
        "get_l2_gateway_connection": "rule:admin_or_owner"
        "delete_l2_gateway_connection": "role:admin"
        """;
}

public sealed class PolicyTests(OpenPolicyServerFixture server) : IClassFixture<OpenPolicyServerFixture>
{
    private const string Body = """{"l2_gateway":{"name":"g","devices":[{"device_name":"sw","interfaces":[{"name":"e"}]}]}}""";

    [Fact]
    public async Task Members_see_and_touch_only_their_own_project()
    {
        using var alice = server.Client(roles: "member");
        using var bob = server.Client(roles: "member");
        using var admin = server.Client();
        var aliceGw = (string)(await alice.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Body))["id"]!;
        var bobGw = (string)(await bob.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Body))["id"]!;

        var (_, aliceList) = await alice.GetAsync("/v2.0/l2-gateways");
        Assert.Equal([aliceGw], aliceList!["l2_gateways"]!.AsArray().Select(g => (string)g!["id"]!));
        var (_, spy) = await alice.GetAsync($"/v2.0/l2-gateways?tenant_id={bob.Project}");
        Assert.Empty(spy!["l2_gateways"]!.AsArray());

        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync($"/v2.0/l2-gateways/{bobGw}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.PutAsync($"/v2.0/l2-gateways/{bobGw}", """{"l2_gateway":{"name":"x"}}""")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.DeleteAsync($"/v2.0/l2-gateways/{bobGw}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync($"/v2.0/l2-gateways/{bobGw}")).Status);

        // A member cannot create in another project; the admin sees everyone's.
        Assert.Equal(HttpStatusCode.BadRequest, (await alice.PostAsync("/v2.0/l2-gateways", Body.Replace("\"name\":\"g\"", $"\"name\":\"g\",\"tenant_id\":\"{bob.Project}\"", StringComparison.Ordinal))).Status);
        var (_, all) = await admin.GetAsync($"/v2.0/l2-gateways?id={aliceGw}&id={bobGw}");
        Assert.Equal(2, all!["l2_gateways"]!.AsArray().Count);

        // Rules left admin-only stay closed, before any lookup.
        Assert.Equal(HttpStatusCode.Forbidden, (await alice.DeleteAsync($"/v2.0/l2-gateway-connections/{Guid.NewGuid()}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync($"/v2.0/l2-gateways/{aliceGw}")).Status);
    }
}

/// <summary>The policy language as oslo.policy reads it, checked rule by rule against a caller and a target.</summary>
public sealed class PolicyRuleTests
{
    /// <summary>A rule the server checks; the cases put their rule in its place.</summary>
    private const string Action = "get_l2_gateway";

    private static bool Allows(string rule, string roles, string project = "p1", string target = "", IReadOnlyDictionary<string, string>? rules = null)
    {
        var overrides = new Dictionary<string, string>(rules ?? new Dictionary<string, string>()) { [Action] = rule };
        var caller = new RequestContext(project, roles.Split(',', StringSplitOptions.RemoveEmptyEntries), "u1");
        var attributes = new Dictionary<string, string> { ["project_id"] = "p1", ["tenant_id"] = "p1", ["user_id"] = "u1" };
        foreach (var pair in target.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            attributes[pair.Split('=')[0]] = pair.Split('=')[1];
        }

        return new Policy(overrides).Check(Action, caller, attributes);
    }

    [Fact]
    public void Parentheses_group_before_or_is_split()
    {
        Assert.True(Allows("(role:a or role:b) and role:c", "a,c"));
        Assert.False(Allows("(role:a or role:b) and role:c", "a"));
    }

    [Theory]
    // not binds tighter than and, and tighter than or.
    [InlineData("role:a or role:b and role:c", "a", true)]
    [InlineData("role:a or role:b and role:c", "b", false)]
    [InlineData("role:a or role:b and role:c", "b,c", true)]
    [InlineData("role:a and role:b or role:c", "c", true)]
    [InlineData("role:a and role:b or role:c", "a", false)]
    [InlineData("role:a and role:b or role:c", "a,b", true)]
    [InlineData("role:a or role:b or role:c and role:d and role:e", "c,d", false)]
    [InlineData("role:a or role:b or role:c and role:d and role:e", "c,d,e", true)]
    [InlineData("not role:a and role:b", "b", true)]
    [InlineData("not role:a and role:b", "a,b", false)]
    [InlineData("not role:a or role:b", "a", false)]
    [InlineData("not role:a or role:b", "", true)]
    [InlineData("not role:a or role:b", "a,b", true)]
    // Parentheses, nested, and not over a group.
    [InlineData("(role:a or role:b) and role:c", "c", false)]
    [InlineData("role:c and (role:a or role:b)", "b,c", true)]
    [InlineData("not (role:a or role:b)", "", true)]
    [InlineData("not (role:a or role:b)", "b", false)]
    [InlineData("((role:a or (role:b and role:c)) and not role:d)", "b,c", true)]
    [InlineData("((role:a or (role:b and role:c)) and not role:d)", "b,c,d", false)]
    [InlineData("((role:a or (role:b and role:c)) and not role:d)", "b", false)]
    [InlineData("( role:a )", "a", true)]
    [InlineData("not not role:a", "a", true)]
    [InlineData("role:a OR role:b", "b", true)]
    [InlineData("NOT role:a And role:b", "b", true)]
    // Always, never, and the empty rule.
    [InlineData("", "", true)]
    [InlineData("@", "", true)]
    [InlineData("!", "admin", false)]
    [InlineData("not !", "", true)]
    [InlineData("@ and !", "", false)]
    [InlineData("! or role:a", "a", true)]
    // Roles compare without case.
    [InlineData("role:Admin", "admin", true)]
    [InlineData("role:admin", "ADMIN", true)]
    [InlineData("role:admin", "administrator", false)]
    public void Logic(string rule, string roles, bool allowed) => Assert.Equal(allowed, Allows(rule, roles));

    [Theory]
    // rule:NAME, through the defaults and through chains; a rule that does not exist denies, so not of it allows.
    [InlineData("rule:admin_or_owner", "member", "", true)]
    [InlineData("rule:admin_or_owner", "member", "project_id=p2", false)]
    [InlineData("rule:admin_or_owner", "admin", "project_id=p2", true)]
    [InlineData("rule:first", "x", "", true)]
    [InlineData("rule:first", "y", "", false)]
    [InlineData("rule:no_such_rule", "admin", "", false)]
    [InlineData("not rule:no_such_rule", "", "", true)]
    [InlineData("rule:context_is_admin and not rule:owner", "admin", "project_id=p2", true)]
    [InlineData("rule:context_is_admin and not rule:owner", "admin", "", false)]
    // Generic checks: the caller's credential against the target's attribute, or a constant.
    [InlineData("project_id:%(project_id)s", "member", "", true)]
    [InlineData("project_id:%(project_id)s", "member", "project_id=p2", false)]
    [InlineData("tenant_id:%(tenant_id)s", "member", "", true)]
    [InlineData("tenant_id:%(tenant_id)s", "member", "tenant_id=p2", false)]
    [InlineData("project_id:%(tenant_id)s", "member", "", true)]
    [InlineData("project_id:%(network_tenant_id)s", "member", "", false)]
    [InlineData("project_id:%(network_tenant_id)s", "member", "network_tenant_id=p1", true)]
    [InlineData("user_id:%(user_id)s", "", "", true)]
    [InlineData("user_id:%(user_id)s", "", "user_id=u2", false)]
    [InlineData("project_id:p1", "", "", true)]
    [InlineData("project_id:p%(suffix)s", "", "suffix=1", true)]
    [InlineData("project_id:p2", "", "", false)]
    [InlineData("roles:member", "reader,member", "", true)]
    [InlineData("is_admin:True", "admin", "", true)]
    [InlineData("is_admin:True", "member", "", false)]
    [InlineData("'member':%(role_name)s", "", "role_name=member", true)]
    [InlineData("'member':%(role_name)s", "", "role_name=reader", false)]
    [InlineData("\"member\":%(role_name)s", "", "role_name=member", true)]
    [InlineData("True:%(enabled)s", "", "enabled=True", true)]
    [InlineData("True:%(enabled)s", "", "enabled=False", false)]
    [InlineData("42:%(answer)s", "", "answer=42", true)]
    [InlineData("no_such_credential:%(project_id)s", "admin", "", false)]
    [InlineData("role:%(required_role)s", "auditor", "required_role=auditor", true)]
    public void References_and_generic_checks(string rule, string roles, string target, bool allowed)
    {
        var rules = new Dictionary<string, string> { ["first"] = "rule:second", ["second"] = "rule:third", ["third"] = "role:x" };
        Assert.Equal(allowed, Allows(rule, roles, target: target, rules: rules));
    }

    [Fact]
    public void A_caller_without_a_project_owns_nothing()
    {
        Assert.False(Allows("project_id:%(project_id)s", "member", project: "", target: "project_id="));
        Assert.False(Allows("rule:owner", "member", project: "", target: "project_id="));
    }

    [Theory]
    [InlineData("(role:a", "'(' without its ')'")]
    [InlineData("role:a)", "')' without its '('")]
    [InlineData("()", "')' where a check was expected")]
    [InlineData("role:a or", "missing after 'or'")]
    [InlineData("and role:a", "'and' where a check was expected")]
    [InlineData("role:a or or role:b", "'or' where a check was expected")]
    [InlineData("role:a role:b", "'role:b' where 'and', 'or' or the end was expected")]
    [InlineData("not", "missing after 'not'")]
    [InlineData("admin", "'admin' is not a check")]
    [InlineData("'member'", "quoted string")]
    [InlineData("rule:", "names no rule")]
    [InlineData(":x", "nothing before the ':'")]
    [InlineData("http://policy.example/check", "not supported")]
    [InlineData("project_id:%(project_id", "%(key)s")]
    [InlineData("project_id:100%", "%(key)s")]
    [InlineData("   ", "blank rule")]
    [InlineData("not(role:a)", "')' without its '('")] // as in oslo.policy, words are split on spaces only
    public void A_rule_that_cannot_be_read_is_an_error_naming_it(string rule, string problem)
    {
        var error = Assert.Throws<FormatException>(() => new Policy(new Dictionary<string, string> { ["update_l2_gateway"] = rule }));
        Assert.StartsWith("policy rule 'update_l2_gateway'", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_rule_that_refers_back_to_itself_is_an_error()
    {
        var loop = Assert.Throws<FormatException>(() => new Policy(new Dictionary<string, string> { ["a"] = "role:x or rule:b", ["b"] = "rule:c", ["c"] = "not rule:a" }));
        Assert.Contains("rule:a -> rule:b -> rule:c -> rule:a", loop.Message, StringComparison.Ordinal);
        var self = Assert.Throws<FormatException>(() => new Policy(new Dictionary<string, string> { ["get_host"] = "rule:get_host" }));
        Assert.Contains("'get_host' refers back to itself", self.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_default_parses_and_the_server_checks_no_rule_without_one()
    {
        var policy = new Policy();
        Assert.All(Policy.DefaultRules.Keys, name => policy.Check(name, new RequestContext("p1", ["admin"]), "p1"));
        Assert.Throws<InvalidOperationException>(() => policy.Authorize("get_no_such_thing", new RequestContext("p1", ["admin"])));
    }

    [Theory]
    [InlineData("policy.yaml", "\"get_l2_gateway\": \"(role:a or role:b) and role:c\"\n# a comment\nadmin_only: \"role:boss\"\n")]
    [InlineData("policy.json", "{\"get_l2_gateway\": \"(role:a or role:b) and role:c\", \"admin_only\": \"role:boss\"}")]
    public void Policy_files_are_yaml_or_json(string name, string text)
    {
        var file = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + name);
        File.WriteAllText(file, text);
        try
        {
            var policy = Policy.Load(file);
            Assert.True(policy.Check("get_l2_gateway", new RequestContext("p1", ["b", "c"]), "p1"));
            Assert.False(policy.Check("get_l2_gateway", new RequestContext("p1", ["b"]), "p1"));
            Assert.True(policy.Check("delete_l2_gateway", new RequestContext("p1", ["boss"]), "p1"));
            Assert.False(policy.Check("delete_l2_gateway", new RequestContext("p1", ["admin"]), "p1"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("get_l2_gateway: \"role:a or\"\n", "policy rule 'get_l2_gateway'")]
    [InlineData("get_l2_gateway: [\"role:a\"]\n", "policy rule 'get_l2_gateway'")]
    [InlineData("- role:a\n", "a map of rule name to rule")]
    public void The_server_refuses_to_start_with_a_policy_it_cannot_read(string text, string problem)
    {
        var file = Path.GetTempFileName();
        File.WriteAllText(file, text);
        try
        {
            var error = Assert.Throws<ConfigurationException>(() => ServerHost.Build(new ServerOptions { Bind = "127.0.0.1:0", PolicyFile = file }));
            Assert.Contains(problem, error.Message, StringComparison.Ordinal);
            Assert.Contains(file, error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }
}

/// <summary>A server whose policy gives every rule a role of its own name: role <c>update_host</c> passes rule update_host only.</summary>
public sealed class RolePerRuleServerFixture() : PolicyFileServerFixture("policy.json")
{
    protected override string PolicyText =>
        "{\n" + string.Join(",\n", Policy.DefaultRules.Keys.Select(r => $"\"{r}\": \"role:{r}\"")) + "\n}\n";
}

/// <summary>Each endpoint checks the rule named for its action, and every such rule has a default.</summary>
public sealed class EndpointRuleTests(RolePerRuleServerFixture server) : IClassFixture<RolePerRuleServerFixture>
{
    /// <summary>Every route the server maps (other than the version and extension documents) and the rule it checks.</summary>
    private static readonly (string Method, string Route, string Rule)[] Table =
    [
        ("POST", "/v2.0/l2-gateways", "create_l2_gateway"),
        ("GET", "/v2.0/l2-gateways", "get_l2_gateway"),
        ("GET", "/v2.0/l2-gateways/{id}", "get_l2_gateway"),
        ("PUT", "/v2.0/l2-gateways/{id}", "update_l2_gateway"),
        ("DELETE", "/v2.0/l2-gateways/{id}", "delete_l2_gateway"),
        ("POST", "/v2.0/l2-gateway-connections", "create_l2_gateway_connection"),
        ("GET", "/v2.0/l2-gateway-connections", "get_l2_gateway_connection"),
        ("GET", "/v2.0/l2-gateway-connections/{id}", "get_l2_gateway_connection"),
        ("DELETE", "/v2.0/l2-gateway-connections/{id}", "delete_l2_gateway_connection"),
        ("POST", "/v2.0/networks", "create_network"),
        ("GET", "/v2.0/networks", "get_network"),
        ("GET", "/v2.0/networks/{id}", "get_network"),
        ("PUT", "/v2.0/networks/{id}", "update_network"),
        ("DELETE", "/v2.0/networks/{id}", "delete_network"),
        ("GET", "/v2.0/networks/{id}/l2gw-fdb", "get_network"),
        ("POST", "/v2.0/ports", "create_port"),
        ("GET", "/v2.0/ports", "get_port"),
        ("GET", "/v2.0/ports/{id}", "get_port"),
        ("PUT", "/v2.0/ports/{id}", "update_port"),
        ("DELETE", "/v2.0/ports/{id}", "delete_port"),
        ("POST", "/v2.0/hosts", "create_host"),
        ("GET", "/v2.0/hosts", "get_host"),
        ("GET", "/v2.0/hosts/{id}", "get_host"),
        ("PUT", "/v2.0/hosts/{id}", "update_host"),
        ("DELETE", "/v2.0/hosts/{id}", "delete_host"),
        ("GET", "/v2.0/l2-gateway-switches", "get_l2_gateway_switch"),
        ("GET", "/v2.0/l2-gateway-switches/{name}", "get_l2_gateway_switch"),
        ("GET", "/v2.0/agents", "get_agent"),
        ("GET", "/v2.0/agents/{id}", "get_agent"),
        ("DELETE", "/v2.0/agents/{id}", "delete_agent"),
        ("POST", "/v2.0/l2gw-agent/report", "report_l2gw_agent"),
        ("GET", "/v2.0/l2gw-agent/desired-state", "report_l2gw_agent"),
        ("GET", "/v2.0/l2gw-dashboard", "get_l2gw_dashboard"),
    ];

    public static TheoryData<string, string, string> Endpoints()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (method, route, rule) in Table)
        {
            data.Add(method, route, rule);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task An_endpoint_checks_the_rule_of_its_action(string method, string route, string rule)
    {
        Assert.Contains(rule, Policy.DefaultRules.Keys);
        var path = route.Replace("{id}", Guid.NewGuid().ToString(), StringComparison.Ordinal).Replace("{name}", "sw-none", StringComparison.Ordinal);
        var body = method is "POST" or "PUT" ? "{}" : null;
        using var withRule = server.Client(roles: rule);
        var (status, answer) = await withRule.SendAsync(new HttpMethod(method), path, body);
        Assert.True(status is not (HttpStatusCode.Forbidden or HttpStatusCode.InternalServerError), $"{method} {route} with role {rule}: {(int)status} {answer?.ToJsonString()}");

        using var withEveryOtherRule = server.Client(roles: string.Join(',', Policy.DefaultRules.Keys.Where(r => r != rule)));
        Assert.Equal(HttpStatusCode.Forbidden, (await withEveryOtherRule.SendAsync(new HttpMethod(method), path, body)).Status);
    }

    [Fact]
    public void The_table_covers_every_route()
    {
        var routes = server.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m => (m, (e.RoutePattern.RawText ?? "").TrimEnd('/'))))
            .Where(r => r.Item2.StartsWith("/v2.0/", StringComparison.Ordinal) && !r.Item2.StartsWith("/v2.0/extensions", StringComparison.Ordinal))
            .Order().ToList();
        Assert.Equal(Table.Select(t => (t.Method, t.Route)).Order(), routes);
    }

    [Fact]
    public async Task Updating_a_host_is_update_host_not_create_host()
    {
        using var creator = server.Client(roles: "create_host");
        var host = await creator.CreateAsync("/v2.0/hosts", "host", """{"host":{"name":"h-update","tunnel_ip":"10.0.0.9"}}""");
        Assert.Equal(HttpStatusCode.Forbidden, (await creator.PutAsync($"/v2.0/hosts/{host["id"]}", """{"host":{"tunnel_ip":"10.0.0.10"}}""")).Status);
        using var updater = server.Client(roles: "update_host");
        var (status, updated) = await updater.PutAsync($"/v2.0/hosts/{host["id"]}", """{"host":{"tunnel_ip":"10.0.0.10"}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("10.0.0.10", (string?)updated!["host"]!["tunnel_ip"]);
    }

    [Fact]
    public void Update_host_defaults_like_the_other_host_rules() =>
        Assert.All(["create_host", "get_host", "delete_host"], r => Assert.Equal(Policy.DefaultRules[r], Policy.DefaultRules["update_host"]));
}
