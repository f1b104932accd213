using System.Net;

namespace L2Gateway.Ovsdb.Tests;

public class ListenerTests
{
    [Fact]
    public async Task Switch_dials_in_through_its_Manager_row_and_is_identified_by_its_Physical_Switch()
    {
        using var server = new OvsdbServer("--remote=db:hardware_vtep,Global,managers");
        server.VtepCtl("add-ps tor-a -- add-ps tor-b");
        await using var listener = new OvsdbListener(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Start();
        var port = listener.LocalEndPoint.Port;

        // A short inactivity_probe makes ovsdb-server send "echo" requests that the listener side must answer.
        server.VtepCtl($"-- --id=@m create Manager target=\"tcp:127.0.0.1:{port}\" inactivity_probe=300 -- set Global . managers=@m");

        var accepted = await listener.AcceptSwitchAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await using var client = accepted.Client;
        Assert.Equal(["tor-a", "tor-b"], accepted.PhysicalSwitchNames);

        // ovsdb-server raises inactivity probes below 1 s to 1 s; two answered probes show the link is kept alive.
        try
        {
            await ReplicaTests.WaitUntil(() => client.EchoRequestsAnswered >= 2, "echo probes from ovsdb-server");
        }
        catch (TimeoutException)
        {
            Assert.Fail($"answered {client.EchoRequestsAnswered} probes, connected={client.IsConnected}, reason={client.CloseReason?.Message}\n{server.Log()}");
        }

        Assert.True(client.IsConnected);
        Assert.Contains("hardware_vtep", await client.ListDatabasesAsync());

        // ovsdb-server refreshes Manager status every few seconds.
        await ReplicaTests.WaitUntil(() => server.VtepCtl("--bare --columns=is_connected list Manager").Trim() == "true", "Manager is_connected");
    }
}
