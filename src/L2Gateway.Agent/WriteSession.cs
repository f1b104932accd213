using L2Gateway.Ovsdb;
using L2Gateway.Ovsdb.HardwareVtep;

namespace L2Gateway.Agent;

/// <summary>
/// The session on which an agent writes to a switch, and the switch's writer lock it asks for. Only the holder of
/// the OVSDB lock <see cref="LockName"/> writes, so several agents can serve one switch and exactly one of them
/// writes; when the writer's session dies, the database hands the lock to the next agent waiting for it. Every
/// transaction asserts the lock, so one sent by a session that no longer holds it is refused by the switch.
/// </summary>
/// <remarks>
/// The client's callbacks (lock granted or stolen, connection closed) only post an event to the owning
/// <see cref="SwitchActor"/>, whatever thread they come on; the actor decides what they mean. A write session is
/// current for one generation of the monitoring session: the actor retires it when the monitoring session goes.
/// </remarks>
internal sealed class WriteSession
{
    public const string LockName = "l2gw_writer";

    private readonly Action<SwitchEvent> post;
    private readonly EventHandler<OvsdbLockEventArgs> onLocked;
    private readonly EventHandler<OvsdbLockEventArgs> onStolen;
    private readonly EventHandler<OvsdbConnectionStateChangedEventArgs>? onDisconnected;

    /// <param name="owned">
    /// Whether this session is a connection of its own (closed with it, its loss reported); false when it is the
    /// monitoring session's connection (a switch that dials in gives one session, which then carries both).
    /// </param>
    public WriteSession(OvsdbClient client, bool owned, Action<SwitchEvent> post)
    {
        Client = client;
        Owned = owned;
        this.post = post;

        // Handlers first: a session that closes at once must still be noticed (the event is raised only once).
        onLocked = (_, e) => Post(e.LockName, new SwitchEvent.LockGranted(client));
        onStolen = (_, e) => Post(e.LockName, new SwitchEvent.LockStolen(client));
        client.LockAcquired += onLocked;
        client.LockStolen += onStolen;
        if (owned)
        {
            onDisconnected = (_, e) => post(new SwitchEvent.WriteSessionLost(client, e.Reason));
            client.Disconnected += onDisconnected;
        }
    }

    public OvsdbClient Client { get; }

    public bool Owned { get; }

    private void Post(string lockName, SwitchEvent e)
    {
        if (lockName == LockName)
        {
            post(e);
        }
    }

    /// <summary>Opens a connection of its own to write on (with the schema fetched: the first transaction need not ask).</summary>
    public static async Task<OvsdbClient> OpenAsync(string endpoint, OvsdbClientOptions options, CancellationToken cancellationToken)
    {
        var client = await OvsdbClient.ConnectAsync(endpoint, options, cancellationToken);
        try
        {
            await client.GetSchemaAsync(VtepTables.Database, cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Asks for the lock, and posts whether it was granted at once or queued (then "locked" follows when it is
    /// free). Returns when the switch answered, or when the connection went away (its loss is reported apart).
    /// </summary>
    public async Task RequestLockAsync(CancellationToken cancellationToken)
    {
        while (Client.IsConnected)
        {
            try
            {
                post(await Client.LockAsync(LockName, cancellationToken) ? new SwitchEvent.LockGranted(Client) : new SwitchEvent.LockQueued(Client));
                return;
            }
            catch (OvsdbTimeoutException) when (Client.IsConnected && !cancellationToken.IsCancellationRequested)
            {
                // The session is alive but the answer did not come: ask again, or this agent would never write.
            }
            catch (Exception e) when (e is OvsdbException or OperationCanceledException or ObjectDisposedException)
            {
                return; // the connection went away; the next one asks again
            }
        }
    }

    /// <summary>Stops reporting this session's events; closes its connection when it is its own (which hands the lock on).</summary>
    public async Task CloseAsync()
    {
        Client.LockAcquired -= onLocked;
        Client.LockStolen -= onStolen;
        if (onDisconnected is not null)
        {
            Client.Disconnected -= onDisconnected;
        }

        if (Owned)
        {
            await Client.DisposeAsync();
        }
    }
}
