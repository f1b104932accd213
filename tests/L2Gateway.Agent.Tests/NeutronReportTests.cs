using System.Globalization;
using System.Text.Json.Nodes;
using L2Gateway.OpenStack.Messaging;
using L2Gateway.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace L2Gateway.Agent.Tests;

/// <summary>report_state: the agent in Neutron's agent list, against the lab's neutron-server and RabbitMQ.</summary>
public sealed class NeutronReportTests
{
    private static string UniqueHost() => "l2gw-agent-test-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public void The_report_is_networking_l2gws_agent_state()
    {
        // The fake l2gw agent's first report in testbed/openstack/captures/report-state-fake-l2gw.txt.
        var identity = new NeutronAgentIdentity("osv-l2gw2", ["tor1", "tor2"], TimeSpan.FromSeconds(5), Guid.Parse("cf138686-af6b-43fa-9786-f90e7286a214"));
        var time = new DateTimeOffset(2026, 12, 1, 21, 13, 59, TimeSpan.Zero).AddTicks(8497990);

        Assert.Equal(
            """{"agent_state": {"agent_state": {"binary": "neutron-l2gateway-agent", "host": "osv-l2gw2", "topic": "l2gateway_agent", "configurations": {"report_interval": 5.0, "l2gw_agent_type": "", "switches": ["tor1", "tor2"]}, "start_flag": true, "agent_type": "L2 Gateway agent", "uuid": "cf138686-af6b-43fa-9786-f90e7286a214"}}, "time": "2026-12-01T21:13:59.849799"}""",
            PythonJson.Serialize(identity.ReportArgs(startFlag: true, time)));
        Assert.DoesNotContain("start_flag", PythonJson.Serialize(identity.ReportArgs(startFlag: false, time)), StringComparison.Ordinal);
    }

    [Fact]
    public void Transport_url_and_report_interval_come_from_the_ini()
    {
        var options = AgentOptions.FromIni(new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["DEFAULT:transport_url"] = "rabbit://openstack:pw@rabbit1:5672/",
            ["agent:report_interval"] = "12.5",
        });

        Assert.Equal("rabbit1", options.TransportUrl!.Hosts[0].Host);
        Assert.Equal(12.5, options.ReportInterval);
        Assert.Null(AgentOptions.FromIni(new Dictionary<string, string>()).TransportUrl);
        Assert.Equal(30, AgentOptions.FromIni(new Dictionary<string, string>()).ReportInterval);
    }

    [Theory]
    [InlineData("DEFAULT:transport_url", "amqp://h/", "invalid transport_url")]
    [InlineData("AGENT:report_interval", "0", "invalid AGENT.report_interval '0'")]
    [InlineData("AGENT:report_interval", "soon", "invalid AGENT.report_interval 'soon'")]
    public void Bad_values_name_the_option(string key, string value, string message)
    {
        var error = Assert.Throws<FormatException>(() => AgentOptions.FromIni(new Dictionary<string, string> { [key] = value }));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reports_at_start_then_every_report_interval_on_its_clock()
    {
        var host = UniqueHost();
        // Neutron drops a report stamped before neutron-server started (a stale message, answered with nothing), so
        // the manual clock starts at the real time, on a whole second just ahead of it.
        var now = DateTimeOffset.UtcNow;
        var start = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, now.Second, TimeSpan.Zero).AddSeconds(1);
        var clock = new ManualClock(start);
        await using var copies = await LabQueue.BindAsync(("neutron", NeutronAgentIdentity.Topic));
        using var sw = new SwitchDb("tor-r1", "192.0.2.51");
        await using var server = await Controller.StartAsync();
        var options = new AgentOptions
        {
            Host = host,
            ServerUrl = server.Url,
            OvsdbHosts = [new OvsdbHost(sw.Name, "127.0.0.1", sw.Port)],
            TransportUrl = TransportUrl.Parse(OpenStackLab.RabbitUrl),
            ReportInterval = 30,
        };
        var agent = new L2GatewayAgent(options, NullLoggerFactory.Instance, time: clock);
        var reported = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        agent.NeutronReporter!.Reported += r => reported.TrySetResult(r);
        try
        {
            await agent.StartAsync(CancellationToken.None);
            Assert.Equal("new", await reported.Task.WaitAsync(TimeSpan.FromSeconds(60)));
            var first = await NextReportAsync(copies, host);

            reported = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
            await clock.ArmedAsync(TimeSpan.FromSeconds(30));
            clock.Advance(TimeSpan.FromSeconds(30));
            Assert.Equal("alive", await reported.Task.WaitAsync(TimeSpan.FromSeconds(60)));
            var second = await NextReportAsync(copies, host);

            Assert.Equal(start.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + ".000000", (string)first["args"]!["time"]!);
            Assert.Equal(start.AddSeconds(30).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + ".000000", (string)second["args"]!["time"]!);
            var state = first["args"]!["agent_state"]!["agent_state"]!;
            Assert.True((bool)state["start_flag"]!);
            Assert.Equal(["tor-r1"], state["configurations"]!["switches"]!.AsArray().Select(s => (string)s!));
            Assert.Equal(30.0, (double)state["configurations"]!["report_interval"]!);
            Assert.Equal("1.2", (string)first["version"]!);
            var later = second["args"]!["agent_state"]!["agent_state"]!;
            Assert.Null(later["start_flag"]);
            Assert.Equal((string)state["uuid"]!, (string)later["uuid"]!);
        }
        finally
        {
            await agent.StopAsync(CancellationToken.None);
            agent.Dispose();
            await DeleteAgentRowAsync(host);
        }
    }

    private static async Task<JsonObject> NextReportAsync(LabQueue copies, string host)
    {
        var message = await copies.NextAsync(m => (string?)OsloWire.Open(m.Body)["args"]?["agent_state"]?["agent_state"]?["host"] == host);
        Assert.Equal("30000", message.Properties.Expiration);
        return OsloWire.Open(message.Body);
    }

    [Fact]
    public async Task Neutron_lists_the_agent_alive_with_its_switches_and_dead_once_it_stops()
    {
        var host = UniqueHost();
        using var sw1 = new SwitchDb("tor-n1", "192.0.2.61");
        using var sw2 = new SwitchDb("tor-n2", "192.0.2.62");
        await using var server = await Controller.StartAsync();
        var agent = new L2GatewayAgent(
            new AgentOptions
            {
                Host = host,
                ServerUrl = server.Url,
                OvsdbHosts = [new OvsdbHost(sw1.Name, "127.0.0.1", sw1.Port), new OvsdbHost(sw2.Name, "127.0.0.1", sw2.Port)],
                TransportUrl = TransportUrl.Parse(OpenStackLab.RabbitUrl),
                ReportInterval = 5,
            },
            NullLoggerFactory.Instance);
        var reported = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        agent.NeutronReporter!.Reported += r => reported.TrySetResult(r);
        var stopped = false;
        try
        {
            await agent.StartAsync(CancellationToken.None);
            await reported.Task.WaitAsync(TimeSpan.FromSeconds(60));

            var listed = JsonNode.Parse(await OpenStackLab.OpenStackAsync("admin", "network", "agent", "list", "--host", host, "-f", "json"))!.AsArray();
            var row = Assert.Single(listed)!;
            Assert.Equal("L2 Gateway agent", (string)row["Agent Type"]!);
            Assert.True((bool)row["Alive"]!);
            Assert.Equal("neutron-l2gateway-agent", (string)row["Binary"]!);
            var id = (string)row["ID"]!;
            var shown = JsonNode.Parse(await OpenStackLab.OpenStackAsync("admin", "network", "agent", "show", id, "-f", "json"))!;
            Assert.Equal(["tor-n1", "tor-n2"], shown["configuration"]!["switches"]!.AsArray().Select(s => (string)s!));
            Assert.Equal("l2gateway_agent", (string)shown["topic"]!);

            await agent.StopAsync(CancellationToken.None);
            stopped = true;

            // Neutron takes an agent for dead agent_down_time (75 s) after its last heartbeat: wait for that event.
            var deadline = DateTime.UtcNow.AddSeconds(150);
            while (true)
            {
                var alive = (bool)JsonNode.Parse(await OpenStackLab.OpenStackAsync("admin", "network", "agent", "show", id, "-f", "json", "-c", "alive"))!["alive"]!;
                if (!alive)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, $"agent {host} still alive 150 s after it stopped");
                await Task.Delay(TimeSpan.FromSeconds(5));
            }
        }
        finally
        {
            if (!stopped)
            {
                await agent.StopAsync(CancellationToken.None);
            }

            agent.Dispose();
            await DeleteAgentRowAsync(host);
        }
    }

    private static async Task DeleteAgentRowAsync(string host)
    {
        foreach (var id in (await OpenStackLab.OpenStackAsync("admin", "network", "agent", "list", "--host", host, "-f", "value", "-c", "ID")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            await OpenStackLab.OpenStackAsync("admin", "network", "agent", "delete", id.Trim());
        }
    }
}
