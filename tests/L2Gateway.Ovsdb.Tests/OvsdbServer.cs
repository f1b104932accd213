using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace L2Gateway.Ovsdb.Tests;

/// <summary>
/// A real ovsdb-server serving a fresh hardware_vtep database from a temp dir, run as a child process
/// (no --detach) and stopped by PID.
/// </summary>
public sealed class OvsdbServer : IDisposable
{
    public const string VtepSchema = "/usr/share/openvswitch/vtep.ovsschema";

    private readonly string[] _extraArgs;
    private Process? _process;

    // Starting servers and running vtep-ctl block threads (process waits, start-up polling), and the test classes
    // run in parallel on a 2-core machine: with the default minimum of 2 pool threads, a client's read loop could
    // wait seconds for a thread and miss ovsdb-server's inactivity probe. The product never blocks pool threads.
    static OvsdbServer() => ThreadPool.SetMinThreads(Math.Max(32, Environment.ProcessorCount), Math.Max(32, Environment.ProcessorCount));

    public OvsdbServer(params string[] extraArgs)
        : this(false, extraArgs)
    {
    }

    /// <param name="clustered">A one-server RAFT cluster: unlike a standalone database it keeps the
    /// transaction history that lets monitor_cond_since resume.</param>
    public OvsdbServer(bool clustered, params string[] extraArgs)
    {
        _extraArgs = extraArgs;
        Dir = Path.Combine(Path.GetTempPath(), "ovsdbt-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Dir);
        DbPath = Path.Combine(Dir, "vtep.db");
        if (clustered)
        {
            Run("ovsdb-tool", $"create-cluster {DbPath} {VtepSchema} tcp:127.0.0.1:{FreePort()}");
        }
        else
        {
            Run("ovsdb-tool", $"create {DbPath} {VtepSchema}");
        }

        Port = FreePort();
        Start();
    }

    public string Dir { get; }

    public string DbPath { get; }

    public int Port { get; }

    public string TcpEndpoint => $"tcp:127.0.0.1:{Port}";

    public string UnixPath => Path.Combine(Dir, "db.sock");

    public string UnixEndpoint => $"unix:{UnixPath}";

    public int Pid => _process?.Id ?? throw new InvalidOperationException("not running");

    public bool IsRunning => _process is { HasExited: false };

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public void Start()
    {
        var args = new List<string>
        {
            DbPath,
            $"--remote=ptcp:{Port}:127.0.0.1",
            $"--remote=punix:{UnixPath}",
            $"--pidfile={Path.Combine(Dir, "ovsdb-server.pid")}",
            $"--unixctl={Path.Combine(Dir, "ctl")}",
            $"--log-file={Path.Combine(Dir, "ovsdb-server.log")}",
            "-vconsole:off",
        };
        args.AddRange(_extraArgs);
        var psi = new ProcessStartInfo("ovsdb-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"ovsdb-server exited with {_process.ExitCode}: {Log()}");
            }

            try
            {
                using var c = new TcpClient();
                c.Connect(IPAddress.Loopback, Port);
                if (File.Exists(UnixPath))
                {
                    return;
                }
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
            }

            Thread.Sleep(20);
        }
    }

    public string Log()
    {
        var path = Path.Combine(Dir, "ovsdb-server.log");
        return File.Exists(path) ? File.ReadAllText(path) : "";
    }

    /// <summary>Kills the server (SIGKILL) by PID and waits for it.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill();
            p.WaitForExit();
        }

        _process?.Dispose();
        _process = null;
        File.Delete(UnixPath);
    }

    public void Signal(string signal) => Run("kill", $"-{signal} {Pid}");

    public string VtepCtl(string args) => Run("vtep-ctl", $"--db={TcpEndpoint} --timeout=10 {args}");

    public string AppCtl(string args) => Run("ovs-appctl", $"-t {Path.Combine(Dir, "ctl")} {args}");

    public static string Run(string file, string args) => Run(file, args.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    public static string Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}");
        }

        return stdout.Result;
    }

    public void Dispose()
    {
        try
        {
            if (_process is { HasExited: false })
            {
                Signal("CONT");
            }
        }
        catch (InvalidOperationException)
        {
        }

        Kill();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One ovsdb-server shared by the tests of a class.</summary>
public sealed class OvsdbServerFixture : IDisposable
{
    public OvsdbServer Server { get; } = new();

    public void Dispose() => Server.Dispose();
}
