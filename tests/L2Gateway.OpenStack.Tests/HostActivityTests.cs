using L2Gateway.OpenStack.Neutron;

namespace L2Gateway.OpenStack.Tests;

public sealed class HostActivityTests
{
    private static readonly DateTimeOffset Boot = new(2026, 12, 2, 0, 18, 26, TimeSpan.Zero);

    private static NeutronAgent Agent(string host, DateTimeOffset started) =>
        new("id-" + host, host, NeutronAgent.OpenvswitchBinary, "10.77.0.2", started, true);

    private static NeutronPort Port(string id, string network, string? host, string status = NeutronPort.Active) =>
        new(id, id, network, "p", "fa:16:3e:00:00:01", [], [], host, status, "", "", true, "", null, 1);

    [Fact]
    public void An_agent_whose_start_time_changes_has_restarted()
    {
        var activity = new HostActivity();

        Assert.Empty(activity.AgentsRead([Agent("c1", Boot)]));
        Assert.Empty(activity.AgentsRead([Agent("c1", Boot), Agent("c2", Boot)]));
        Assert.Equal(["c1"], activity.AgentsRead([Agent("c1", Boot.AddMinutes(3)), Agent("c2", Boot)]));
        Assert.Empty(activity.AgentsRead([Agent("c1", Boot.AddMinutes(3))]));
    }

    [Fact]
    public void The_first_complete_read_reports_nothing_then_a_first_active_port_on_a_host_and_network_is_reported_once()
    {
        var activity = new HostActivity();

        Assert.Empty(activity.PortsRead([Port("a", "n1", "c1")], [], complete: true));
        Assert.Empty(activity.PortsRead([Port("b", "n1", "c1")], [], complete: false));
        Assert.Equal([("c1", "n2")], activity.PortsRead([Port("c", "n2", "c1")], [], complete: false));
        Assert.Equal([("c2", "n1")], activity.PortsRead([Port("d", "n1", "c2", "DOWN"), Port("e", "n1", "c2")], [], complete: false));
    }

    [Fact]
    public void A_port_that_turns_active_or_moves_is_reported_on_its_new_host()
    {
        var activity = new HostActivity();
        activity.PortsRead([Port("a", "n1", "c1", "DOWN")], [], complete: true);

        Assert.Equal([("c1", "n1")], activity.PortsRead([Port("a", "n1", "c1")], [], complete: false));
        Assert.Equal([("c2", "n1")], activity.PortsRead([Port("a", "n1", "c2")], [], complete: false));
        Assert.Equal([("c1", "n1")], activity.PortsRead([Port("a", "n1", "c1")], [], complete: false));
    }

    [Fact]
    public void A_host_and_network_that_lost_their_last_active_port_report_the_next_one()
    {
        var activity = new HostActivity();
        activity.PortsRead([Port("a", "n1", "c1"), Port("b", "n1", "c1")], [], complete: true);

        Assert.Empty(activity.PortsRead([], ["a"], complete: false));
        Assert.Empty(activity.PortsRead([Port("b", "n1", "c1")], [], complete: true));
        Assert.Empty(activity.PortsRead([], [], complete: true)); // b is gone: missing from a complete read
        Assert.Equal([("c1", "n1")], activity.PortsRead([Port("c", "n1", "c1")], [], complete: false));
    }
}
