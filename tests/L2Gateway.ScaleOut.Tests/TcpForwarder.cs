using System.Diagnostics;
using System.Net.Sockets;

namespace L2Gateway.ScaleOut.Tests;

/// <summary>
/// The one address the servers know the database by, as operators give them a virtual IP or a proxy in front of
/// PostgreSQL: <c>socat</c> forwarding a free loopback port to the current primary. Pointing it elsewhere ends the
/// forwarder (and every connection through it) and starts a new one on the same port.
/// </summary>
public sealed class TcpForwarder : IAsyncDisposable
{
    private Process? socat;

    private TcpForwarder(int port) => Port = port;

    public int Port { get; }

    public static async Task<TcpForwarder> StartAsync(int targetPort)
    {
        var forwarder = new TcpForwarder(Lab.FreePort());
        await forwarder.PointAtAsync(targetPort);
        return forwarder;
    }

    /// <summary>Forwards to <paramref name="targetPort"/> from now on; returns once the port accepts connections.</summary>
    public async Task PointAtAsync(int targetPort)
    {
        Stop();
        socat = Process.Start(new ProcessStartInfo(
            "socat", [$"TCP-LISTEN:{Port},bind=127.0.0.1,reuseaddr,fork", $"TCP:127.0.0.1:{targetPort}"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        for (var i = 0; ; i++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException) when (i < 300 && !socat.HasExited)
            {
                await Task.Delay(20);
            }
        }
    }

    /// <summary>Ends the forwarder and every connection through it (its forked children included).</summary>
    public void Stop()
    {
        if (socat is null)
        {
            return;
        }

        if (!socat.HasExited)
        {
            socat.Kill(entireProcessTree: true);
        }

        socat.WaitForExit();
        socat.Dispose();
        socat = null;
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }
}
