using System.Text.Json;
using System.Text.Json.Nodes;
using L2Gateway.Core.Planning;

namespace L2Gateway.Core.Tests;

/// <summary>Remote MAC rows on the server-agent wire: grouped by logical switch, read back exactly, malformed input refused.</summary>
public class UcastWireFormTests
{
    private static readonly DesiredUcastRemote[] Rows =
    [
        new("02:00:00:00:00:01", "192.168.0.1", "net-a", "10.0.0.1"),
        new("02:00:00:00:00:02", "192.168.0.2", "net-a", "10.0.0.2"),
        new("02:00:00:00:00:03", "", "net-a", "10.0.0.1"),
        new("02:00:00:00:00:01", "192.168.1.1", "net-b", "10.0.0.1"),
    ];

    private static SwitchDesiredState State() =>
        new("tor1", [new("net-a", 1, "a"), new("net-b", 2, "b")], [new("p1", 10, "net-a")], Rows, [new("net-a", ["10.0.0.1", "10.0.0.2"])]);

    [Fact]
    public void A_state_is_written_with_one_group_per_logical_switch_and_read_back_the_same()
    {
        var state = State();
        var json = JsonSerializer.Serialize(state, AgentProtocol.Json);

        var groups = JsonNode.Parse(json)!["ucast_remotes"]!.AsArray();
        Assert.Equal(["net-a", "net-b"], groups.Select(g => (string)g!["logical_switch"]!));
        Assert.Equal(
            """[["02:00:00:00:00:01","192.168.0.1","10.0.0.1"],["02:00:00:00:00:02","192.168.0.2","10.0.0.2"],["02:00:00:00:00:03","","10.0.0.1"]]""",
            groups[0]!["rows"]!.ToJsonString());

        var back = JsonSerializer.Deserialize<SwitchDesiredState>(json, AgentProtocol.Json)!;
        Assert.Equal(state.UcastRemotes, back.UcastRemotes);
        Assert.Equal(state.Revision, back.Revision);
        Assert.Same(back.UcastRemotes[0].DstIp, back.UcastRemotes[2].DstIp); // one copy of each tunnel IP
    }

    [Fact]
    public void Removed_keys_of_a_delta_travel_as_mac_and_ip_pairs()
    {
        var before = State();
        var after = new SwitchDesiredState("tor1", before.LogicalSwitches, before.VlanBindings, Rows[1..], before.McastRemotes);
        var delta = SwitchDesiredDelta.Between(before, after);
        var json = JsonSerializer.Serialize(delta, AgentProtocol.Json);

        Assert.Equal(
            """[{"logical_switch":"net-a","rows":[["02:00:00:00:00:01","192.168.0.1"]]}]""",
            JsonNode.Parse(json)!["removed_ucast_remotes"]!.ToJsonString());
        var back = JsonSerializer.Deserialize<SwitchDesiredDelta>(json, AgentProtocol.Json)!;
        Assert.Equal(after.Revision, back.ApplyTo(before).Revision);
    }

    [Fact]
    public void Rows_may_come_before_their_logical_switch_and_unknown_members_are_ignored()
    {
        var json = JsonSerializer.Serialize(State(), AgentProtocol.Json);
        var node = JsonNode.Parse(json)!;
        node["ucast_remotes"] = JsonNode.Parse(
            """[{"rows":[["02:00:00:00:00:01","192.168.0.1","10.0.0.1"]],"comment":{"x":[1]},"logical_switch":"net-a"}]""");

        var back = JsonSerializer.Deserialize<SwitchDesiredState>(node.ToJsonString(), AgentProtocol.Json)!;

        Assert.Equal([Rows[0]], back.UcastRemotes);
    }

    [Theory]
    [InlineData("""[{"logical_switch":"net-a","rows":[["02:00:00:00:00:01","192.168.0.1"]]}]""")]
    [InlineData("""[{"logical_switch":"net-a","rows":[["02:00:00:00:00:01","192.168.0.1","10.0.0.1","x"]]}]""")]
    [InlineData("""[{"logical_switch":"net-a","rows":[["02:00:00:00:00:01",7,"10.0.0.1"]]}]""")]
    [InlineData("""[{"rows":[["02:00:00:00:00:01","192.168.0.1","10.0.0.1"]]}]""")]
    [InlineData("""[{"logical_switch":"net-a"}]""")]
    [InlineData("""[{"logical_switch":3,"rows":[]}]""")]
    [InlineData("""{"net-a":[]}""")]
    [InlineData("""[["02:00:00:00:00:01","192.168.0.1","10.0.0.1"]]""")]
    public void Malformed_rows_are_refused_with_a_json_error(string rows)
    {
        var node = JsonNode.Parse(JsonSerializer.Serialize(State(), AgentProtocol.Json))!;
        node["ucast_remotes"] = JsonNode.Parse(rows);

        var error = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<SwitchDesiredState>(node.ToJsonString(), AgentProtocol.Json));
        Assert.Contains("remote MAC rows", error.Message, StringComparison.Ordinal);
    }
}
