using System.Diagnostics;
using System.Text.Json.Nodes;

namespace L2Gateway.Agent.Tests;

/// <summary>
/// Coming from networking-l2gw: the agent takes over the rows the reference wrote on a switch instead of
/// rewriting them, so the servers behind the switch never lose their path while the product replaces it.
/// </summary>
public sealed class AdoptionTests
{
    private static string Transact(SwitchDb sw, string json)
    {
        var start = new ProcessStartInfo("ovsdb-client", ["transact", sw.Endpoint, json]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 && !output.Contains("\"error\"", StringComparison.Ordinal)
            ? output
            : throw new InvalidOperationException($"ovsdb-client transact: {output}{error}");
    }

    /// <summary>
    /// One row of one update as <c>ovsdb-client monitor --format=json</c> prints it. <paramref name="Columns"/> holds
    /// the row's values; for <c>old</c> only the columns the update changed are non-null (their former values), and
    /// the <c>new</c> that follows carries the same row's uuid here (ovsdb-client prints it empty).
    /// </summary>
    private sealed record Change(string Table, string Row, string Action, IReadOnlyDictionary<string, JsonNode?> Columns)
    {
        /// <summary>For an <c>old</c>: the columns the update changed (the row version aside).</summary>
        public IEnumerable<string> Changed => Columns.Where(c => c.Key != "_version" && c.Value is not null).Select(c => c.Key);

        public string Text(string column) => Columns.GetValueOrDefault(column)?.ToJsonString() ?? "null";

        public override string ToString() => $"{Table} {Row} {Action} {string.Join(' ', Columns.Where(c => c.Key != "_version").Select(c => $"{c.Key}={Text(c.Key)}"))}";
    }

    private static IEnumerable<Change> Parse(string line)
    {
        var update = JsonNode.Parse(line)!;
        var table = (string)update["caption"]!;
        var headings = update["headings"]!.AsArray().Select(h => (string)h!).ToList();
        var previous = "";
        foreach (var cells in update["data"]!.AsArray().Select(r => r!.AsArray()))
        {
            var row = (string)cells[0]!;
            var action = (string)cells[1]!;
            var uuid = action == "new" ? previous : row;
            previous = row;
            yield return new Change(table, uuid, action, headings.Skip(2).Select((h, i) => (h, cells[i + 2])).ToDictionary(x => x.h, x => x.Item2, StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task The_references_rows_are_kept_as_they_are_and_only_what_is_missing_is_added()
    {
        using var sw = new SwitchDb();
        await using var server = await Controller.StartAsync();
        await server.PostAsync("/v2.0/hosts", """{"host":{"name":"compute1","tunnel_ip":"10.0.0.11"}}""");
        var net = (string)(await server.PostAsync("/v2.0/networks", """{"network":{"name":"blue","provider:network_type":"vxlan","provider:segmentation_id":5000}}"""))["network"]!["id"]!;
        await server.PostAsync("/v2.0/ports", $$$"""{"port":{"network_id":"{{{net}}}","mac_address":"02:00:00:00:00:01","fixed_ips":[{"ip_address":"192.168.0.1"}],"binding:host_id":"compute1"}}""");
        var gw = (string)(await server.PostAsync("/v2.0/l2-gateways", """{"l2_gateway":{"name":"gw","devices":[{"device_name":"tor1","interfaces":[{"name":"p1","segmentation_id":[100]}]}]}}"""))["l2_gateway"]!["id"]!;
        // As after `l2gw db import-neutron`: the connection is stored before any agent of the product has run.
        await L2Gateway.Server.ServerHost.ReportSwitchAsync(
            server.App, new L2Gateway.Core.SwitchInventory("tor1", [sw.TunnelIp], "UP", [new("p1", "UP"), new("p2", "UP")]));
        var connection = (string)(await server.PostAsync("/v2.0/l2-gateway-connections", $$$"""{"l2_gateway_connection":{"l2_gateway_id":"{{{gw}}}","network_id":"{{{net}}}"}}"""))["l2_gateway_connection"]!["id"]!;

        // What networking-l2gw's agent leaves for this connection: the logical switch named by the network id with
        // its VNI and the network's name, the VM's remote MAC with its IP on a locator of the compute host, and the
        // VLAN binding (its ovsdb_writer's insert_ucast_macs_remote and update_connection_to_gateway). It writes no
        // Mcast_Macs_Remote and nothing in other_config.
        Transact(sw, $$$"""
            ["hardware_vtep",
             {"op":"insert","table":"Logical_Switch","uuid-name":"ls","row":{"name":"{{{net}}}","tunnel_key":5000,"description":"blue"}},
             {"op":"insert","table":"Physical_Locator","uuid-name":"loc","row":{"dst_ip":"10.0.0.11","encapsulation_type":"vxlan_over_ipv4"}},
             {"op":"insert","table":"Ucast_Macs_Remote","row":{"MAC":"02:00:00:00:00:01","ipaddr":"192.168.0.1","logical_switch":["named-uuid","ls"],"locator":["named-uuid","loc"]}},
             {"op":"mutate","table":"Physical_Port","where":[["name","==","p1"]],"mutations":[["vlan_bindings","insert",["map",[[100,["named-uuid","ls"]]]]]]}]
            """);
        var before = await sw.RowsAsync(["Logical_Switch", "Ucast_Macs_Remote", "Physical_Locator", "Physical_Port"]);
        var ls = before["Logical_Switch"].Single().Uuid.ToString();
        var ucast = before["Ucast_Macs_Remote"].Single().Uuid.ToString();
        var locator = before["Physical_Locator"].Single().Uuid.ToString();
        var p1 = before["Physical_Port"].Single(r => r.GetString("name") == "p1").Uuid.ToString();
        var referenceRows = new[] { ls, ucast, locator, p1 };

        // Every change the switch sees from here on, in order, as an independent client (ovsdb-client) prints it.
        var monitor = new ProcessStartInfo("ovsdb-client", ["monitor", "--format=json", sw.Endpoint, "hardware_vtep", "ALL"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var watch = Process.Start(monitor)!;
        var seen = new List<Change>();
        var watching = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var marker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        watch.OutputDataReceived += (_, e) =>
        {
            if (string.IsNullOrWhiteSpace(e.Data) || !e.Data.StartsWith('{'))
            {
                return;
            }

            var changes = Parse(e.Data).ToList();
            lock (seen)
            {
                seen.AddRange(changes);
            }

            if (changes.Any(c => c.Action == "initial" && c.Row == ls))
            {
                watching.TrySetResult();
            }

            if (changes.Any(c => c.Table == "Logical_Switch" && c.Action == "insert" && c.Text("name") == "\"adoption-marker\""))
            {
                marker.TrySetResult();
            }
        };
        watch.BeginOutputReadLine();
        try
        {
            // The monitor's initial dump holds the reference's rows: it is watching before the agent starts.
            await watching.Task.WaitAsync(TimeSpan.FromSeconds(30));

            await using var agent = await RunningAgent.StartAsync(server.Url, "agent-a", sw);

            // ACTIVE: the agent has reported this desired state applied, which it does after a pass that finds
            // nothing left to write on the switch.
            await Eventually.HoldsAsync(
                async () => (string?)(await server.GetAsync($"/v2.0/l2-gateway-connections/{connection}"))["l2_gateway_connection"]!["status"] == "ACTIVE",
                "the connection ACTIVE");

            // A change after everything the agent wrote up to its convergence: once the monitor prints it, it has
            // printed all that came before.
            sw.Vtep("add-ls adoption-marker");
            await marker.Task.WaitAsync(TimeSpan.FromSeconds(30));
            List<Change> observed;
            lock (seen)
            {
                observed = [.. seen.Where(c => c.Action != "initial" && !(c.Table == "Logical_Switch" && c.Text("name") == "\"adoption-marker\""))];
            }

            var report = "changes seen:\n" + string.Join('\n', observed);

            // Nothing deleted: not the reference's rows (no delete and re-insert), nor anything else.
            Assert.True(!observed.Any(c => c.Action == "delete"), report);

            // Of the reference's rows only the logical switch was written, and only its other_config, which gained
            // the ownership marker: its name, VNI, description, the MAC row, the locator and port p1's VLAN binding
            // are as the reference left them.
            var modified = observed.Where(c => c.Action == "old").ToList();
            Assert.True(modified.Count == 1 && modified[0].Row == ls && modified[0].Changed.SequenceEqual(["other_config"]), report);
            Assert.Equal("[\"map\",[]]", modified[0].Text("other_config"));
            Assert.Equal("[\"map\",[[\"l2gw-owner\",\"l2gw\"]]]", observed.Single(c => c.Action == "new").Text("other_config"));
            Assert.All(referenceRows.Where(r => r != ls), r => Assert.DoesNotContain(observed, c => c.Row == r));

            // Added: only what the reference never wrote, the flooding row and its locator set, which point at the
            // reference's logical switch and locator (no second logical switch, MAC row or locator).
            var inserted = observed.Where(c => c.Action == "insert").ToList();
            Assert.True(inserted.Select(c => c.Table).Order(StringComparer.Ordinal).SequenceEqual(["Mcast_Macs_Remote", "Physical_Locator_Set"]), report);
            var flood = inserted.Single(c => c.Table == "Mcast_Macs_Remote");
            Assert.Equal("\"unknown-dst\"", flood.Text("MAC"));
            Assert.Equal($"[\"uuid\",\"{ls}\"]", flood.Text("logical_switch"));
            Assert.Equal($"[\"uuid\",\"{locator}\"]", inserted.Single(c => c.Table == "Physical_Locator_Set").Text("locators"));

            var after = await sw.RowsAsync(["Logical_Switch", "Ucast_Macs_Remote", "Physical_Locator"]);
            Assert.Equal(ls, after["Logical_Switch"].Single(r => r.GetString("name") == net).Uuid.ToString());
            Assert.Equal(ucast, after["Ucast_Macs_Remote"].Single().Uuid.ToString());
            Assert.Equal(locator, after["Physical_Locator"].Single().Uuid.ToString());

            // Adopted is owned: when the connection goes, the reference's rows go as the product's own would, and
            // the logical switch that is nobody's here (the marker) stays.
            await server.DeleteAsync($"/v2.0/l2-gateway-connections/{connection}");
            await Eventually.HoldsAsync(
                async () =>
                {
                    var rows = await sw.RowsAsync(["Logical_Switch", "Ucast_Macs_Remote", "Mcast_Macs_Remote", "Physical_Port"]);
                    return rows["Logical_Switch"].Select(r => r.GetString("name")).SequenceEqual(["adoption-marker"])
                        && rows["Ucast_Macs_Remote"].Count == 0 && rows["Mcast_Macs_Remote"].Count == 0
                        && rows["Physical_Port"].All(r => r.Get("vlan_bindings").Count == 0);
                },
                "the adopted rows removed with the connection");
        }
        finally
        {
            watch.Kill();
            await watch.WaitForExitAsync();
        }
    }
}
