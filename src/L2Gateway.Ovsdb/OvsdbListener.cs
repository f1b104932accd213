using System.Net;
using System.Net.Sockets;
using L2Gateway.Ovsdb.Operations;

namespace L2Gateway.Ovsdb;

/// <summary>A switch that dialled in, with the names of its Physical_Switch rows.</summary>
public sealed record AcceptedSwitch(OvsdbClient Client, EndPoint? RemoteEndPoint, IReadOnlyList<string> PhysicalSwitchNames);

/// <summary>
/// Passive mode: listens for hardware-VTEP switches whose ovsdb-server connects out to us (a "Manager"
/// row such as tcp:CONTROLLER:6640). Each accepted connection is an ordinary <see cref="OvsdbClient"/>.
/// </summary>
public sealed class OvsdbListener : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly OvsdbClientOptions _options;

    public OvsdbListener(IPEndPoint endpoint, OvsdbClientOptions? options = null)
    {
        _listener = new TcpListener(endpoint);
        _options = options ?? new OvsdbClientOptions();
    }

    /// <summary>The bound address; with port 0 the system picks one.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public void Start() => _listener.Start();

    public async Task<OvsdbClient> AcceptAsync(CancellationToken cancellationToken = default)
    {
        var socket = await _listener.AcceptSocketAsync(cancellationToken);
        socket.NoDelay = true;
        return OvsdbClient.FromStream(new NetworkStream(socket, ownsSocket: true), $"tcp:{socket.RemoteEndPoint}", _options);
    }

    /// <summary>Accepts the next connection and reads its Physical_Switch names from <paramref name="database"/>.</summary>
    public async Task<AcceptedSwitch> AcceptSwitchAsync(string database = "hardware_vtep", CancellationToken cancellationToken = default)
    {
        var client = await AcceptAsync(cancellationToken);
        try
        {
            return new AcceptedSwitch(client, null, await IdentifyAsync(client, database, cancellationToken));
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public static async Task<IReadOnlyList<string>> IdentifyAsync(OvsdbClient client, string database = "hardware_vtep", CancellationToken cancellationToken = default)
    {
        var result = (await client.TransactAsync(database, [Op.Select("Physical_Switch").Columns("name")], cancellationToken)).EnsureSuccess();
        return [.. result.Operations[0]!.Rows!.Select(r => r.GetString("name")).Order(StringComparer.Ordinal)];
    }

    public ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Dispose();
        return ValueTask.CompletedTask;
    }
}
