using System.Net;
using System.Text.Json.Nodes;
using L2Gateway.Core;
using L2Gateway.Server.Persistence;
using Microsoft.Extensions.DependencyInjection;

namespace L2Gateway.Server.Tests;

/// <summary>The HTTP contract (SPEC §3-4), run once against SQLite and once against PostgreSQL.</summary>
public abstract class ApiTests(ServerFixture server)
{
    protected ServerFixture Server { get; } = server;

    private const string TwoVlans = """{"l2_gateway":{"name":"gw","devices":[{"device_name":"sw1","interfaces":[{"name":"eth0","segmentation_id":[100,"200"]},{"name":"eth1","segmentation_id":[300]}]}]}}""";

    private static string Gateway(string name, string device, string interfaces) =>
        $$$"""{"l2_gateway":{"name":"{{{name}}}","devices":[{"device_name":"{{{device}}}","interfaces":{{{interfaces}}}}]}}""";

    private static void AssertError(HttpStatusCode expected, (HttpStatusCode Status, JsonNode? Body) actual, string? type = null)
    {
        Assert.True(expected == actual.Status, $"expected {(int)expected}, got {(int)actual.Status}: {actual.Body?.ToJsonString()}");
        var error = actual.Body?["NeutronError"];
        Assert.NotNull(error);
        Assert.False(string.IsNullOrEmpty((string?)error["message"]));
        Assert.Equal("", (string?)error["detail"]);
        if (type is not null)
        {
            Assert.Equal(type, (string?)error["type"]);
        }
    }

    private async Task<string> NetworkAsync(Api api, int vni) =>
        (string)(await api.CreateAsync(
            "/v2.0/networks", "network", $$$"""{"network":{"name":"net{{{vni}}}","provider:network_type":"vxlan","provider:segmentation_id":{{{vni}}}}}"""))["id"]!;

    private static int nextVni = Environment.ProcessId % 1000 * 1000;

    private static int Vni() => Interlocked.Increment(ref nextVni) + 10_000;

    private static string UniqueSwitch() => "sw-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Gateway_crud_round_trips()
    {
        using var api = Server.Client();
        var created = await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", TwoVlans);
        var id = (string)created["id"]!;
        Assert.Equal("gw", (string?)created["name"]);
        Assert.Equal(api.Project, (string?)created["tenant_id"]);
        Assert.Equal(api.Project, (string?)created["project_id"]);
        var device = created["devices"]![0]!;
        Assert.False(string.IsNullOrEmpty((string?)device["id"]));
        Assert.Equal("sw1", (string?)device["device_name"]);
        Assert.Equal("[100,200]", device["interfaces"]![0]!["segmentation_id"]!.ToJsonString());

        var (status, shown) = await api.GetAsync($"/v2.0/l2-gateways/{id}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(created.ToJsonString(), shown!["l2_gateway"]!.ToJsonString());

        var (_, renamed) = await api.PutAsync($"/v2.0/l2-gateways/{id}", """{"l2_gateway":{"name":"renamed"}}""");
        Assert.Equal("renamed", (string?)renamed!["l2_gateway"]!["name"]);
        Assert.Equal(device.ToJsonString(), renamed["l2_gateway"]!["devices"]![0]!.ToJsonString());

        var (_, updated) = await api.PutAsync(
            $"/v2.0/l2-gateways/{id}", """{"l2_gateway":{"devices":[{"device_name":"sw1","interfaces":[{"name":"eth7","segmentation_id":[7]}]}]}}""");
        var interfaces = updated!["l2_gateway"]!["devices"]![0]!["interfaces"]!.AsArray();
        Assert.Equal("eth7", (string?)Assert.Single(interfaces)!["name"]);
        Assert.Equal((string?)device["id"], (string?)updated["l2_gateway"]!["devices"]![0]!["id"]);

        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/v2.0/l2-gateways/{id}")).Status);
        AssertError(HttpStatusCode.NotFound, await api.GetAsync($"/v2.0/l2-gateways/{id}"), "L2GatewayNotFound");
    }

    [Fact]
    public async Task Interface_without_vlans_reads_back_as_empty_string()
    {
        using var api = Server.Client();
        var created = await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Gateway("g", "sw", """[{"name":"e1"},{"name":"e2","segmentation_id":[0]}]"""));
        Assert.Equal("\"\"", created["devices"]![0]!["interfaces"]![0]!["segmentation_id"]!.ToJsonString());
        Assert.Equal("\"\"", created["devices"]![0]!["interfaces"]![1]!["segmentation_id"]!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"l2_gateway":{"name":"g","devices":[]}}""")]
    [InlineData("""{"l2_gateway":{"name":"g"}}""")]
    [InlineData("""{"l2_gateway":{"name":"g","devices":[{"device_name":"","interfaces":[{"name":"e"}]}]}}""")]
    [InlineData("""{"l2_gateway":{"name":"g","devices":[{"device_name":"s","interfaces":[]}]}}""")]
    [InlineData("""{"l2_gateway":{"name":"g","devices":[{"device_name":"s","interfaces":[{"name":""}]}]}}""")]
    [InlineData("""{"l2_gateway":{"name":"g","devices":[{"device_name":"s","interfaces":[{"name":"e","segmentation_id":["abc"]}]}]}}""")]
    [InlineData("""{"l2_gateway":{"name":"g","devices":[{"device_name":"s","interfaces":[{"name":"e","segmentation_id":[4095]}]}]}}""")]
    [InlineData("""{"l2_gateway":{"name":"g","devices":[{"device_name":"s","interfaces":[{"name":"e","segmentation_id":[-5]}]}]}}""")]
    [InlineData("""{"l2_gateway":{"name":"g","devices":[{"device_name":"s","interfaces":[{"name":"e","segmentation_id":[100]},{"name":"f"}]}]}}""")]
    [InlineData("""{"l2_gateway":{"name":5,"devices":[{"device_name":"s","interfaces":[{"name":"e"}]}]}}""")]
    [InlineData("""{"l2_gateway":{"name":"g","devices":"sw1"}}""")]
    [InlineData("""{"l2_gateway":{"name":"g","colour":"red","devices":[{"device_name":"s","interfaces":[{"name":"e"}]}]}}""")]
    [InlineData("""{"l2_gateway":[]}""")]
    [InlineData("""{"gateway":{}}""")]
    [InlineData("""{"l2_gateway":{"name":"g",""")]
    [InlineData("""not json""")]
    public async Task Bad_gateway_bodies_are_400_and_store_nothing(string body)
    {
        using var api = Server.Client();
        AssertError(HttpStatusCode.BadRequest, await api.PostAsync("/v2.0/l2-gateways", body));
        var (_, list) = await api.GetAsync($"/v2.0/l2-gateways?tenant_id={api.Project}");
        Assert.Empty(list!["l2_gateways"]!.AsArray());
    }

    [Fact]
    public async Task Oversized_body_is_413()
    {
        // With "Expect: 100-continue" the client sends the body only when asked, so the server's early 413 (it does
        // not read the body) reaches the client instead of a broken pipe on the 2 MiB still being written.
        using var handler = new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromMinutes(1) };
        using var http = new HttpClient(handler) { BaseAddress = Server.BaseUrl };
        var huge = "{\"l2_gateway\":{\"name\":\"" + new string('x', 2 * 1024 * 1024) + "\"}}";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2.0/l2-gateways")
        {
            Content = new StringContent(huge, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        AssertError(HttpStatusCode.RequestEntityTooLarge, (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text)));
    }

    [Fact]
    public async Task Non_admin_is_refused_before_any_existence_check()
    {
        using var admin = Server.Client();
        var id = (string)(await admin.CreateAsync("/v2.0/l2-gateways", "l2_gateway", TwoVlans))["id"]!;
        using var member = Server.Client(admin.Project, roles: "member,reader");
        var missing = Guid.NewGuid().ToString();
        foreach (var (method, path, body) in new (HttpMethod, string, string?)[]
        {
            (HttpMethod.Post, "/v2.0/l2-gateways", TwoVlans),
            (HttpMethod.Get, "/v2.0/l2-gateways", null),
            (HttpMethod.Get, $"/v2.0/l2-gateways/{id}", null),
            (HttpMethod.Get, $"/v2.0/l2-gateways/{missing}", null),
            (HttpMethod.Put, $"/v2.0/l2-gateways/{missing}", """{"l2_gateway":{"name":"x"}}"""),
            (HttpMethod.Delete, $"/v2.0/l2-gateways/{missing}", null),
            (HttpMethod.Post, "/v2.0/l2-gateway-connections", """{"l2_gateway_connection":{"l2_gateway_id":"x","network_id":"y"}}"""),
            (HttpMethod.Get, "/v2.0/l2-gateway-connections", null),
            (HttpMethod.Get, $"/v2.0/l2-gateway-connections/{missing}", null),
            (HttpMethod.Delete, $"/v2.0/l2-gateway-connections/{missing}", null),
        })
        {
            AssertError(HttpStatusCode.Forbidden, await member.SendAsync(method, path, body), "PolicyNotAuthorized");
        }

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/v2.0/l2-gateways/{id}")).Status);
    }

    [Fact]
    public async Task Unknown_ids_are_404()
    {
        using var api = Server.Client();
        var missing = Guid.NewGuid().ToString();
        AssertError(HttpStatusCode.NotFound, await api.GetAsync($"/v2.0/l2-gateways/{missing}"), "L2GatewayNotFound");
        AssertError(HttpStatusCode.NotFound, await api.PutAsync($"/v2.0/l2-gateways/{missing}", """{"l2_gateway":{"name":"x"}}"""), "L2GatewayNotFound");
        AssertError(HttpStatusCode.NotFound, await api.DeleteAsync($"/v2.0/l2-gateways/{missing}"), "L2GatewayNotFound");
        AssertError(HttpStatusCode.NotFound, await api.GetAsync($"/v2.0/l2-gateway-connections/{missing}"), "L2GatewayConnectionNotFound");
        AssertError(HttpStatusCode.NotFound, await api.DeleteAsync($"/v2.0/l2-gateway-connections/{missing}"), "L2GatewayConnectionNotFound");
        AssertError(HttpStatusCode.NotFound, await api.GetAsync($"/v2.0/networks/{missing}"), "NetworkNotFound");
        AssertError(HttpStatusCode.NotFound, await api.GetAsync("/v2.0/no-such-collection"));

        var gw = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", TwoVlans))["id"]!;
        AssertError(
            HttpStatusCode.NotFound,
            await api.PostAsync("/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw}}}","network_id":"{{{missing}}}"}}"""),
            "NetworkNotFound");
        var net = await NetworkAsync(api, Vni());
        AssertError(
            HttpStatusCode.NotFound,
            await api.PostAsync("/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{missing}}}","network_id":"{{{net}}}"}}"""),
            "L2GatewayNotFound");
    }

    [Fact]
    public async Task Connection_lifecycle_and_its_rules()
    {
        using var api = Server.Client();
        var sw = UniqueSwitch();
        await Server.ReportSwitchAsync(sw, "UP", ("eth0", "UP"), ("eth1", "UP"));
        var withVlans = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Gateway("a", sw, """[{"name":"eth0","segmentation_id":[100]}]""")))["id"]!;
        var without = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Gateway("b", sw, """[{"name":"eth1"}]""")))["id"]!;
        var net = await NetworkAsync(api, Vni());
        string Body(string gw, string extra = "") => $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw}}}","network_id":"{{{net}}}"{{{extra}}}}}""";

        AssertError(HttpStatusCode.BadRequest, await api.PostAsync("/v2.0/l2-gateway-connections", Body(withVlans, ""","segmentation_id":5""")));
        AssertError(HttpStatusCode.BadRequest, await api.PostAsync("/v2.0/l2-gateway-connections", Body(without)));
        AssertError(HttpStatusCode.BadRequest, await api.PostAsync("/v2.0/l2-gateway-connections", Body(without, ""","segmentation_id":"x1""")));
        AssertError(HttpStatusCode.BadRequest, await api.PostAsync("/v2.0/l2-gateway-connections", Body(without, ""","segmentation_id":4095""")));
        AssertError(HttpStatusCode.BadRequest, await api.PostAsync("/v2.0/l2-gateway-connections", Body(without, ""","segmentation_id":5,"vlan":5""")));
        AssertError(HttpStatusCode.BadRequest, await api.PostAsync("/v2.0/l2-gateway-connections", """{"l2_gateway_connection":{"l2_gateway_id":"x"}}"""));

        var connection = await api.CreateAsync("/v2.0/l2-gateway-connections", "l2_gateway_connection", Body(without, ""","segmentation_id":"42" """));
        Assert.Equal(42, (int)connection["segmentation_id"]!);
        Assert.Equal("PENDING", (string?)connection["status"]);
        Assert.Equal(net, (string?)connection["network_id"]);
        Assert.Equal(without, (string?)connection["l2_gateway_id"]);
        var id = (string)connection["id"]!;
        var connection2 = await api.CreateAsync("/v2.0/l2-gateway-connections", "l2_gateway_connection", Body(withVlans));
        Assert.Equal("\"\"", connection2["segmentation_id"]!.ToJsonString());

        AssertError(HttpStatusCode.Conflict, await api.PostAsync("/v2.0/l2-gateway-connections", Body(without, ""","segmentation_id":43""")), "L2GatewayConnectionExists");
        AssertError(HttpStatusCode.Conflict, await api.DeleteAsync($"/v2.0/l2-gateways/{without}"), "L2GatewayInUse");
        AssertError(HttpStatusCode.Conflict, await api.DeleteAsync($"/v2.0/networks/{net}"), "NetworkInUse");

        var (_, shown) = await api.GetAsync($"/v2.0/l2-gateway-connections/{id}");
        Assert.Equal(connection.ToJsonString(), shown!["l2_gateway_connection"]!.ToJsonString());
        var (_, listed) = await api.GetAsync($"/v2.0/l2-gateway-connections?network_id={net}");
        Assert.Equal(2, listed!["l2_gateway_connections"]!.AsArray().Count);

        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/v2.0/l2-gateway-connections/{id}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/v2.0/l2-gateways/{without}")).Status);
        AssertError(HttpStatusCode.NotFound, await api.GetAsync($"/v2.0/l2-gateway-connections/{id}"));
    }

    [Fact]
    public async Task Same_vlan_on_one_port_for_two_networks_is_409()
    {
        using var api = Server.Client();
        var sw = UniqueSwitch();
        await Server.ReportSwitchAsync(sw, "UP", ("p1", "UP"));
        var gw1 = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Gateway("a", sw, """[{"name":"p1"}]""")))["id"]!;
        var gw2 = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Gateway("b", sw, """[{"name":"p1"}]""")))["id"]!;
        var net1 = await NetworkAsync(api, Vni());
        var net2 = await NetworkAsync(api, Vni());
        await api.CreateAsync("/v2.0/l2-gateway-connections", "l2_gateway_connection", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw1}}}","network_id":"{{{net1}}}","segmentation_id":10}}""");

        // Same network through another gateway on the same port shares the binding.
        await api.CreateAsync("/v2.0/l2-gateway-connections", "l2_gateway_connection", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw2}}}","network_id":"{{{net1}}}","segmentation_id":10}}""");
        AssertError(
            HttpStatusCode.Conflict,
            await api.PostAsync("/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw1}}}","network_id":"{{{net2}}}","segmentation_id":10}}"""),
            "L2GatewayDuplicateSegmentationID");
        await api.CreateAsync("/v2.0/l2-gateway-connections", "l2_gateway_connection", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw1}}}","network_id":"{{{net2}}}","segmentation_id":11}}""");
    }

    [Fact]
    public async Task Inventory_decides_which_switches_and_ports_can_be_connected()
    {
        using var api = Server.Client();
        var sw = UniqueSwitch();
        var net = await NetworkAsync(api, Vni());
        async Task<(HttpStatusCode, JsonNode?)> ConnectAsync(string ports)
        {
            var gw = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Gateway("g", sw, ports)))["id"]!;
            var result = await api.PostAsync("/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw}}}","network_id":"{{{net}}}","segmentation_id":7}}""");
            await api.DeleteAsync($"/v2.0/l2-gateways/{gw}");
            return result;
        }

        AssertError(HttpStatusCode.NotFound, await ConnectAsync("""[{"name":"p1"}]"""), "L2GatewayPhysicalSwitchNotFound");
        await Server.ReportSwitchAsync(sw, "UP", ("p1", "UP"), ("p2", "DOWN"));
        AssertError(HttpStatusCode.NotFound, await ConnectAsync("""[{"name":"p9"}]"""), "L2GatewayPhysicalPortNotFound");
        AssertError(HttpStatusCode.Conflict, await ConnectAsync("""[{"name":"p2"}]"""), "L2GatewayPhysicalPortFaultStatus");
        await Server.ReportSwitchAsync(sw, "power_supply_failure", ("p1", "UP"));
        AssertError(HttpStatusCode.Conflict, await ConnectAsync("""[{"name":"p1"}]"""), "L2GatewayPhysicalSwitchFaultStatus");
        await Server.ReportSwitchAsync(sw, "UP", ("p1", "UP"));
        Assert.Equal(HttpStatusCode.Created, (await ConnectAsync("""[{"name":"p1"}]""")).Item1);
    }

    [Fact]
    public async Task Network_needs_exactly_one_vxlan_segment()
    {
        using var api = Server.Client();
        var sw = UniqueSwitch();
        await Server.ReportSwitchAsync(sw, "UP", ("p1", "UP"));
        var gw = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Gateway("g", sw, """[{"name":"p1"}]""")))["id"]!;
        var vlanNet = (string)(await api.CreateAsync("/v2.0/networks", "network", """{"network":{"name":"v","provider:network_type":"vlan","provider:segmentation_id":12,"provider:physical_network":"phys"}}"""))["id"]!;
        var a = Vni();
        var b = Vni();
        var multi = (string)(await api.CreateAsync("/v2.0/networks", "network", $$$"""{"network":{"name":"m","segments":[{"provider:network_type":"vxlan","provider:segmentation_id":{{{a}}}},{"provider:network_type":"vxlan","provider:segmentation_id":{{{b}}}}]}}"""))["id"]!;
        AssertError(HttpStatusCode.BadRequest, await api.PostAsync("/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw}}}","network_id":"{{{vlanNet}}}","segmentation_id":3}}"""));
        AssertError(HttpStatusCode.Conflict, await api.PostAsync("/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw}}}","network_id":"{{{multi}}}","segmentation_id":3}}"""));
    }

    [Fact]
    public async Task Quota_limits_gateways_per_project()
    {
        using var api = Server.Client();
        for (var i = 0; i < 5; i++)
        {
            await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", TwoVlans);
        }

        AssertError(HttpStatusCode.Conflict, await api.PostAsync("/v2.0/l2-gateways", TwoVlans), "OverQuota");
        using var other = Server.Client();
        await other.CreateAsync("/v2.0/l2-gateways", "l2_gateway", TwoVlans);
    }

    [Fact]
    public async Task Update_rules()
    {
        using var api = Server.Client();
        var sw = UniqueSwitch();
        await Server.ReportSwitchAsync(sw, "UP", ("p1", "UP"), ("p2", "UP"));
        var gw = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Gateway("g", sw, """[{"name":"p1","segmentation_id":[5]}]""")))["id"]!;
        AssertError(HttpStatusCode.BadRequest, await api.PutAsync($"/v2.0/l2-gateways/{gw}", $$$"""{"l2_gateway":{"devices":[{"device_name":"{{{sw}}}","interfaces":[{"name":"p1"}]}]}}"""));
        AssertError(HttpStatusCode.NotFound, await api.PutAsync($"/v2.0/l2-gateways/{gw}", """{"l2_gateway":{"devices":[{"device_name":"nope","interfaces":[{"name":"p1"}]}]}}"""));
        AssertError(HttpStatusCode.BadRequest, await api.PutAsync($"/v2.0/l2-gateways/{gw}", """{"l2_gateway":{"tenant_id":"x"}}"""));

        // A connected gateway's new VLANs are checked against other networks' bindings.
        var other = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Gateway("o", sw, """[{"name":"p2","segmentation_id":[9]}]""")))["id"]!;
        var net1 = await NetworkAsync(api, Vni());
        var net2 = await NetworkAsync(api, Vni());
        await api.CreateAsync("/v2.0/l2-gateway-connections", "l2_gateway_connection", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw}}}","network_id":"{{{net1}}}"}}""");
        await api.CreateAsync("/v2.0/l2-gateway-connections", "l2_gateway_connection", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{other}}}","network_id":"{{{net2}}}"}}""");
        AssertError(HttpStatusCode.Conflict, await api.PutAsync($"/v2.0/l2-gateways/{gw}", $$$"""{"l2_gateway":{"devices":[{"device_name":"{{{sw}}}","interfaces":[{"name":"p2","segmentation_id":[9]}]}]}}"""));
        var (status, _) = await api.PutAsync($"/v2.0/l2-gateways/{gw}", $$$"""{"l2_gateway":{"devices":[{"device_name":"{{{sw}}}","interfaces":[{"name":"p2","segmentation_id":[10]}]}]}}""");
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Lists_filter_sort_project_fields_and_paginate()
    {
        using var api = Server.Client();
        var ids = new List<string>();
        foreach (var name in new[] { "c", "a", "b" })
        {
            ids.Add((string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Gateway(name, "sw", """[{"name":"e"}]""")))["id"]!);
        }

        var scope = $"tenant_id={api.Project}";
        var (_, byName) = await api.GetAsync($"/v2.0/l2-gateways?{scope}&sort_key=name&sort_dir=desc&fields=name");
        Assert.Equal("""[{"name":"c"},{"name":"b"},{"name":"a"}]""", byName!["l2_gateways"]!.ToJsonString());

        var (_, filtered) = await api.GetAsync($"/v2.0/l2-gateways?{scope}&name=a&name=b&fields=id&fields=name&sort_key=name");
        Assert.Equal("""["a","b"]""", new JsonArray([.. filtered!["l2_gateways"]!.AsArray().Select(g => (JsonNode)(string)g!["name"]!)]).ToJsonString());
        Assert.All(filtered["l2_gateways"]!.AsArray(), g => Assert.Equal(2, g!.AsObject().Count));

        // Creation order by default, one page at a time following the links.
        var seen = new List<string>();
        var url = $"/v2.0/l2-gateways?{scope}&limit=1";
        for (var page = 0; page < 5 && url is not null; page++)
        {
            var (_, body) = await api.GetAsync(url);
            seen.AddRange(body!["l2_gateways"]!.AsArray().Select(g => (string)g!["id"]!));
            url = body["l2_gateways_links"]?.AsArray().FirstOrDefault(l => (string?)l!["rel"] == "next")?["href"] is JsonNode href
                ? new Uri((string)href!).PathAndQuery
                : null;
        }

        Assert.Equal(ids, seen);

        var (_, last) = await api.GetAsync($"/v2.0/l2-gateways?{scope}&limit=2&marker={ids[2]}&page_reverse=true");
        Assert.Equal(ids[..2], last!["l2_gateways"]!.AsArray().Select(g => (string)g!["id"]!).ToList());

        AssertError(HttpStatusCode.BadRequest, await api.GetAsync("/v2.0/l2-gateways?sort_key=devices"));
        AssertError(HttpStatusCode.BadRequest, await api.GetAsync("/v2.0/l2-gateways?sort_dir=sideways&sort_key=name"));
        AssertError(HttpStatusCode.BadRequest, await api.GetAsync("/v2.0/l2-gateways?limit=many"));
        AssertError(HttpStatusCode.BadRequest, await api.GetAsync("/v2.0/l2-gateways?colour=red"));
        AssertError(HttpStatusCode.NotFound, await api.GetAsync($"/v2.0/l2-gateways?limit=1&marker={Guid.NewGuid()}"));
    }

    [Fact]
    public async Task Extensions_list_the_l2gw_aliases()
    {
        using var api = Server.Client();
        var (status, body) = await api.GetAsync("/v2.0/extensions");
        Assert.Equal(HttpStatusCode.OK, status);
        var aliases = body!["extensions"]!.AsArray().Select(e => (string)e!["alias"]!).ToList();
        Assert.Contains("l2-gateway", aliases);
        Assert.Contains("l2-gateway-connection", aliases);
    }

    [Fact]
    public async Task Catalog_networks_ports_and_hosts()
    {
        using var api = Server.Client();
        var vni = Vni();
        var net = await api.CreateAsync("/v2.0/networks", "network", $$$"""{"network":{"name":"n","provider:network_type":"vxlan","provider:segmentation_id":{{{vni}}}}}""");
        Assert.Equal("vxlan", (string?)net["provider:network_type"]);
        Assert.Equal(vni, (int)net["provider:segmentation_id"]!);
        AssertError(HttpStatusCode.Conflict, await api.PostAsync("/v2.0/networks", $$$"""{"network":{"name":"dup","provider:network_type":"vxlan","provider:segmentation_id":{{{vni}}}}}"""));
        AssertError(HttpStatusCode.BadRequest, await api.PostAsync("/v2.0/networks", """{"network":{"name":"x","provider:network_type":"vxlan","provider:segmentation_id":16777216}}"""));

        var netId = (string)net["id"]!;
        var port = await api.CreateAsync(
            "/v2.0/ports",
            "port",
            $$$"""{"port":{"network_id":"{{{netId}}}","name":"p","mac_address":"02:00:00:00:00:AA","fixed_ips":[{"ip_address":"10.1.0.5"}],"binding:host_id":"compute1","allowed_address_pairs":[{"ip_address":"10.1.0.6","mac_address":"02:00:00:00:00:bb"}]}}""");
        Assert.Equal("02:00:00:00:00:aa", (string?)port["mac_address"]);
        Assert.Equal("10.1.0.5", (string?)port["fixed_ips"]![0]!["ip_address"]);
        Assert.Equal("compute1", (string?)port["binding:host_id"]);
        Assert.Equal("02:00:00:00:00:bb", (string?)port["allowed_address_pairs"]![0]!["mac_address"]);
        AssertError(HttpStatusCode.Conflict, await api.PostAsync("/v2.0/ports", $$$"""{"port":{"network_id":"{{{netId}}}","mac_address":"02:00:00:00:00:aa"}}"""), "MacAddressInUse");
        AssertError(HttpStatusCode.BadRequest, await api.PostAsync("/v2.0/ports", $$$"""{"port":{"network_id":"{{{netId}}}","mac_address":"zz"}}"""));
        AssertError(HttpStatusCode.BadRequest, await api.PostAsync("/v2.0/ports", $$$"""{"port":{"network_id":"{{{netId}}}","fixed_ips":[{"ip_address":"300.1.1.1"}]}}"""));
        AssertError(HttpStatusCode.NotFound, await api.PostAsync("/v2.0/ports", """{"port":{"network_id":"nope"}}"""));

        var (_, moved) = await api.PutAsync($"/v2.0/ports/{port["id"]}", """{"port":{"binding:host_id":"compute2"}}""");
        Assert.Equal("compute2", (string?)moved!["port"]!["binding:host_id"]);
        AssertError(HttpStatusCode.Conflict, await api.DeleteAsync($"/v2.0/networks/{netId}"), "NetworkInUse");
        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/v2.0/ports/{port["id"]}")).Status);
        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/v2.0/networks/{netId}")).Status);

        var hostName = "compute-" + Guid.NewGuid().ToString("N")[..6];
        var host = await api.CreateAsync("/v2.0/hosts", "host", $$$"""{"host":{"name":"{{{hostName}}}","tunnel_ip":"10.77.0.2"}}""");
        Assert.Equal("10.77.0.2", (string?)host["tunnel_ip"]);
        AssertError(HttpStatusCode.Conflict, await api.PostAsync("/v2.0/hosts", $$$"""{"host":{"name":"{{{hostName}}}","tunnel_ip":"10.77.0.3"}}"""));
        AssertError(HttpStatusCode.BadRequest, await api.PostAsync("/v2.0/hosts", """{"host":{"name":"h","tunnel_ip":"nope"}}"""));
        var (_, updated) = await api.PutAsync($"/v2.0/hosts/{host["id"]}", """{"host":{"tunnel_ip":"10.77.0.9"}}""");
        Assert.Equal("10.77.0.9", (string?)updated!["host"]!["tunnel_ip"]);
        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/v2.0/hosts/{host["id"]}")).Status);
    }

    /// <summary>
    /// Thirty writers at once: each on a connection opened beforehand, with threads enough that none waits for one,
    /// all released together.
    /// </summary>
    private static async Task<(HttpStatusCode Status, JsonNode? Body)[]> RaceAsync(Api api, HttpMethod method, string path, string body)
    {
        const int Writers = 30;
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 4 * Writers), Math.Max(io, 4 * Writers));
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => api.GetAsync("/")));
        using var start = new Barrier(Writers);
        return await Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(async () =>
        {
            start.SignalAndWait();
            return await api.SendAsync(method, path, body);
        })));
    }

    [Fact]
    public async Task Thirty_concurrent_creates_of_one_vni_make_one_network()
    {
        using var api = Server.Client();
        var vni = Vni();
        var body = $$$"""{"network":{"name":"race","provider:network_type":"vxlan","provider:segmentation_id":{{{vni}}}}}""";
        var answers = await RaceAsync(api, HttpMethod.Post, "/v2.0/networks", body);

        Assert.Single(answers, a => a.Status == HttpStatusCode.Created);
        foreach (var answer in answers.Where(a => a.Status != HttpStatusCode.Created))
        {
            AssertError(HttpStatusCode.Conflict, answer, "SegmentationIdInUse");
        }

        var (_, list) = await api.GetAsync("/v2.0/networks?name=race");
        Assert.Single(list!["networks"]!.AsArray(), n => (int?)n!["provider:segmentation_id"] == vni);

        // The segment is free again once its network is gone.
        var id = (string)answers.Single(a => a.Status == HttpStatusCode.Created).Body!["network"]!["id"]!;
        Assert.Equal(HttpStatusCode.NoContent, (await api.DeleteAsync($"/v2.0/networks/{id}")).Status);
        await api.CreateAsync("/v2.0/networks", "network", body);
    }

    [Fact]
    public async Task Thirty_concurrent_writers_keep_hosts_macs_and_connections_unique()
    {
        using var api = Server.Client();
        var hostName = "race-" + Guid.NewGuid().ToString("N")[..6];
        var hosts = await RaceAsync(api, HttpMethod.Post, "/v2.0/hosts", $$$"""{"host":{"name":"{{{hostName}}}","tunnel_ip":"10.77.1.1"}}""");
        Assert.Single(hosts, h => h.Status == HttpStatusCode.Created);
        Assert.All(hosts.Where(h => h.Status != HttpStatusCode.Created), h => AssertError(HttpStatusCode.Conflict, h, "HostExists"));

        var netId = await NetworkAsync(api, Vni());
        var ports = await RaceAsync(api, HttpMethod.Post, "/v2.0/ports", $$$"""{"port":{"network_id":"{{{netId}}}","mac_address":"fa:16:3e:00:00:30"}}""");
        Assert.Single(ports, p => p.Status == HttpStatusCode.Created);
        Assert.All(ports.Where(p => p.Status != HttpStatusCode.Created), p => AssertError(HttpStatusCode.Conflict, p, "MacAddressInUse"));

        var sw = UniqueSwitch();
        await Server.ReportSwitchAsync(sw, "UP", ("p1", "UP"));
        var gw = (string)(await api.CreateAsync("/v2.0/l2-gateways", "l2_gateway", Gateway("race", sw, """[{"name":"p1","segmentation_id":[100]}]""")))["id"]!;
        var connections = await RaceAsync(
            api, HttpMethod.Post, "/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw}}}","network_id":"{{{netId}}}"}}""");
        Assert.Single(connections, c => c.Status == HttpStatusCode.Created);
        Assert.All(connections.Where(c => c.Status != HttpStatusCode.Created), c => AssertError(HttpStatusCode.Conflict, c));
        var (_, listed) = await api.GetAsync($"/v2.0/l2-gateway-connections?l2_gateway_id={gw}");
        Assert.Single(listed!["l2_gateway_connections"]!.AsArray());
    }

    [Fact]
    public async Task A_write_that_breaks_a_unique_key_is_a_409_even_past_the_checks()
    {
        // Two networks claiming one segment, stored without going through the API's checks: the schema refuses.
        var store = Server.App.Services.GetRequiredService<Store>();
        var vni = Vni();
        NetworkRow Network() => new() { Id = Guid.NewGuid().ToString(), Name = "direct", ProjectId = "p", SegmentsJson = "[]" };
        NetworkSegmentRow Segment(NetworkRow n) => new() { NetworkType = "vxlan", PhysicalNetwork = "", SegmentationId = vni, NetworkId = n.Id };
        var first = Network();
        await store.WriteAsync(db =>
        {
            db.Networks.Add(first);
            db.NetworkSegments.Add(Segment(first));
            return Task.FromResult(true);
        });
        var second = Network();
        var error = await Assert.ThrowsAsync<L2GatewayException>(() => store.WriteAsync(db =>
        {
            db.Networks.Add(second);
            db.NetworkSegments.Add(Segment(second));
            return Task.FromResult(true);
        }));
        Assert.Equal(ErrorKind.Conflict, error.Kind);
        Assert.Equal("SegmentationIdInUse", error.Type);
        using var api = Server.Client(roles: "admin");
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/v2.0/networks/{second.Id}")).Status);
    }

    [Fact]
    public async Task Switch_inventory_is_listed()
    {
        using var api = Server.Client();
        var sw = UniqueSwitch();
        await Server.ReportSwitchAsync(sw, "UP", ("p1", "UP"));
        var (status, body) = await api.GetAsync($"/v2.0/l2-gateway-switches/{sw}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("p1", (string?)body!["l2_gateway_switch"]!["ports"]![0]!["name"]);
        var (_, list) = await api.GetAsync($"/v2.0/l2-gateway-switches?name={sw}");
        Assert.Single(list!["l2_gateway_switches"]!.AsArray());
    }
}

public sealed class SqliteApiTests(SqliteServerFixture server) : ApiTests(server), IClassFixture<SqliteServerFixture>;

public sealed class PostgresApiTests(PostgresServerFixture server) : ApiTests(server), IClassFixture<PostgresServerFixture>;
