using System.Threading.Channels;
using L2Gateway.Server.Persistence;
using Npgsql;

namespace L2Gateway.Server.Services;

/// <summary>
/// On PostgreSQL, brings the other servers' writes into this server as they commit: one dedicated connection
/// LISTENs on <see cref="ChangeNotification.Channel"/> (an owned loop that reconnects), and a second loop applies
/// what arrives, in order: the rows a notification names are read back and handed to the planner's inputs
/// (<see cref="Store.PeerCommitted"/>). Notifications sent while this server was not listening are lost, so every
/// time LISTEN is (re)established the planner's inputs are reloaded whole; a notification this server could not
/// apply (the database went away while reading it) costs a full reload too.
/// </summary>
public sealed class PeerChangeListener(Store store, DesiredStateService desired, GatewayReadModel readModel, TimeProvider time, ILogger<PeerChangeListener> logger) : BackgroundService
{
    /// <summary>Silence on the LISTEN connection after which it is probed, so that a dead link is noticed.</summary>
    private static readonly TimeSpan ProbeAfter = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly Channel<PeerEvent> events = Channel.CreateUnbounded<PeerEvent>(new UnboundedChannelOptions { SingleReader = true });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (store.Settings.Provider != DatabaseProvider.PostgreSql)
        {
            return; // One server per SQLite file: no one else writes.
        }

        await Task.WhenAll(ListenLoopAsync(stoppingToken), ApplyLoopAsync(stoppingToken));
    }

    private async Task ListenLoopAsync(CancellationToken stoppingToken)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(store.Settings.ConnectionString)
        {
            Pooling = false,
            ApplicationName = "l2gw-listen",
        }.ToString();
        var failures = 0;
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);

                // Raised on this loop, inside WaitAsync: hand the payload over and return.
                connection.Notification += (_, e) => events.Writer.TryWrite(new PeerEvent.Notified(e.Payload));
                await connection.OpenAsync(stoppingToken);
                await using (var listen = new NpgsqlCommand($"LISTEN {ChangeNotification.Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // From here every commit's notification arrives: a load that starts now is complete.
                readModel.ListenerUp();
                events.Writer.TryWrite(new PeerEvent.Listening());
                logger.LogInformation("listening for other servers' writes on {Database} (attempt {Attempt}); reloading", store.Settings.Display, failures + 1);
                failures = 0;
                while (true)
                {
                    if (!await connection.WaitAsync(ProbeAfter, stoppingToken))
                    {
                        // Silence: a peer that vanished without closing the link is only noticed by asking.
                        await using var probe = new NpgsqlCommand("SELECT 1", connection) { CommandTimeout = (int)ProbeAfter.TotalSeconds };
                        await probe.ExecuteScalarAsync(stoppingToken);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Whatever broke the connection, a new one is the way on: the loop must outlive it. Meanwhile other
                // servers' commits go unseen, so the API reads the database until the reload after the next LISTEN.
                readModel.ListenerDown();
                failures++;
                var delay = Backoff(failures);
                logger.LogWarning("LISTEN connection to {Database} lost or refused: {Error}; retrying in {Delay} ms", store.Settings.Display, e.Message, delay.TotalMilliseconds);
                if (!await DelayAsync(delay, stoppingToken))
                {
                    return;
                }
            }
        }
    }

    private async Task ApplyLoopAsync(CancellationToken stoppingToken)
    {
        string? reloadBecause = null;
        try
        {
            while (await events.Reader.WaitToReadAsync(stoppingToken))
            {
                while (events.Reader.TryRead(out var next))
                {
                    if (next is PeerEvent.Listening)
                    {
                        reloadBecause = "LISTEN was (re)established";
                    }
                    else if (next is PeerEvent.Notified notified && reloadBecause is null)
                    {
                        // Once a reload is due, it covers every notification queued before it.
                        reloadBecause = await ApplyAsync(notified.Payload, stoppingToken);
                    }
                }

                if (reloadBecause is not null)
                {
                    // What the reload stands for is missing from the API's copy until it completes.
                    readModel.Invalidate();
                }

                for (var failures = 1; reloadBecause is not null; failures++)
                {
                    try
                    {
                        await desired.RefreshAsync(full: true, stoppingToken);
                        logger.LogInformation("planner inputs reloaded from the database: {Reason}", reloadBecause);
                        reloadBecause = null;
                    }
                    catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                    {
                        logger.LogWarning("reloading after other servers' writes failed: {Error}; retrying", e.Message);
                        if (!await DelayAsync(Backoff(failures), stoppingToken))
                        {
                            return;
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Applies one notification; else says why a full reload must stand in for it.</summary>
    private async Task<string?> ApplyAsync(string payload, CancellationToken stoppingToken)
    {
        ChangeNotice notice;
        try
        {
            notice = ChangeNotification.Decode(payload);
        }
        catch (FormatException e)
        {
            logger.LogWarning("unreadable change notification ({Error}); reloading", e.Message);
            return "an unreadable notification";
        }

        if (notice.Server == store.InstanceId)
        {
            return null; // Already applied when it committed here.
        }

        if (notice.Reload)
        {
            return "another server's write was too large to list";
        }

        try
        {
            await store.ReportPeerCommitAsync(db => PeerRows.ReadAsync(db, notice.Changes, stoppingToken), stoppingToken);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning("reading another server's write failed: {Error}; reloading", e.Message);
            return "another server's write could not be read";
        }
    }

    /// <summary>Waits on the injected clock; false when the server is stopping.</summary>
    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(delay, time, stoppingToken);
            return true;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static TimeSpan Backoff(int failures) =>
        TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, 250 * Math.Pow(2, Math.Min(failures - 1, 5))));

    private abstract record PeerEvent
    {
        public sealed record Listening : PeerEvent;

        public sealed record Notified(string Payload) : PeerEvent;
    }
}
