using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Protocol;
using L2Gateway.Ovsdb.Schema;

namespace L2Gateway.Ovsdb;

public enum OvsdbConnectionState
{
    Connecting,
    Connected,
    Disconnected,

    /// <summary>Gave up: reconnect attempts were exhausted, or the owner was disposed.</summary>
    Failed,
}

public sealed class OvsdbConnectionStateChangedEventArgs(OvsdbConnectionState state, Exception? reason) : EventArgs
{
    public OvsdbConnectionState State { get; } = state;

    /// <summary>Why the connection went down (null when connected or closed on purpose).</summary>
    public Exception? Reason { get; } = reason;
}

public sealed class OvsdbLockEventArgs(string lockName) : EventArgs
{
    public string LockName { get; } = lockName;
}

/// <summary>
/// One RFC 7047 JSON-RPC connection. Requests may be issued concurrently; replies are matched by id.
/// The read loop answers the server's "echo" requests, probes the server when the link is idle,
/// and dispatches "update"/"update2"/"update3"/"locked"/"stolen" notifications.
/// </summary>
public sealed class OvsdbClient : IAsyncDisposable
{
    private readonly Stream _stream;
    private const int WriteChunk = 64 * 1024;
    private byte[]? _writeChunk;
    private readonly PipeReader _pipe;
    private readonly JsonRpcReader _reader;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ConcurrentDictionary<long, PendingCall> _pending = new();
    private readonly ConcurrentDictionary<string, MonitorRegistration> _monitors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DatabaseSchema> _schemas = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _lockWaiters = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource<Exception?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly OvsdbClientOptions _options;
    private long _nextId;
    private long _echoesAnswered;
    private long _lastReceive = Environment.TickCount64;
    private int _closeStarted;
    private Task? _readLoop;
    private Task? _probeLoop;

    private OvsdbClient(Stream stream, string endpoint, OvsdbClientOptions options)
    {
        _stream = stream;
        _options = options;
        Endpoint = endpoint;
        _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 65536, minimumReadSize: 16384, leaveOpen: true));
        _reader = new JsonRpcReader(_pipe, options.MaxMessageSize);
    }

    public string Endpoint { get; }

    public OvsdbConnectionState State => _closed.Task.IsCompleted ? OvsdbConnectionState.Disconnected : OvsdbConnectionState.Connected;

    public bool IsConnected => !_closed.Task.IsCompleted;

    /// <summary>Why the connection closed: null while open or after a deliberate close.</summary>
    public Exception? CloseReason => _closed.Task.IsCompleted ? _closed.Task.Result : null;

    /// <summary>Completes (never faults) when the connection is closed, with the reason.</summary>
    public Task<Exception?> Completion => _closed.Task;

    public OvsdbClientOptions Options => _options;

    /// <summary>How many "echo" requests from the peer (its inactivity probes) this client has answered.</summary>
    public long EchoRequestsAnswered => Interlocked.Read(ref _echoesAnswered);

    /// <summary>Raised once, from the thread that detected the close.</summary>
    public event EventHandler<OvsdbConnectionStateChangedEventArgs>? Disconnected;

    /// <summary>"locked" notification: a lock requested earlier has been acquired.</summary>
    public event EventHandler<OvsdbLockEventArgs>? LockAcquired;

    /// <summary>"stolen" notification: another client stole a lock this client held.</summary>
    public event EventHandler<OvsdbLockEventArgs>? LockStolen;

    /// <summary>
    /// Connects to "tcp:IP:PORT", "unix:PATH" or "ssl:IP:PORT" (ovs-vsctl connection method syntax).
    /// </summary>
    public static async Task<OvsdbClient> ConnectAsync(string endpoint, OvsdbClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new OvsdbClientOptions();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (options.ConnectTimeout != Timeout.InfiniteTimeSpan)
        {
            timeout.CancelAfter(options.ConnectTimeout);
        }

        Stream stream;
        try
        {
            stream = await OpenStreamAsync(endpoint, options, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new OvsdbConnectionException($"connecting to {endpoint} timed out after {options.ConnectTimeout}");
        }
        catch (Exception ex) when (ex is SocketException or IOException or System.Security.Authentication.AuthenticationException)
        {
            throw new OvsdbConnectionException($"cannot connect to {endpoint}: {ex.Message}", ex);
        }

        return FromStream(stream, endpoint, options);
    }

    /// <summary>Wraps an already connected stream (used by <see cref="OvsdbListener"/> for passive connections).</summary>
    public static OvsdbClient FromStream(Stream stream, string endpoint, OvsdbClientOptions? options = null)
    {
        var client = new OvsdbClient(stream, endpoint, options ?? new OvsdbClientOptions());
        client.Start();
        return client;
    }

    private void Start()
    {
        _readLoop = Task.Run(ReadLoopAsync);
        if (_options.InactivityProbe > TimeSpan.Zero)
        {
            _probeLoop = Task.Run(ProbeLoopAsync);
        }
    }

    private static async Task<Stream> OpenStreamAsync(string endpoint, OvsdbClientOptions options, CancellationToken ct)
    {
        var colon = endpoint.IndexOf(':', StringComparison.Ordinal);
        var scheme = colon < 0 ? "" : endpoint[..colon];
        var rest = colon < 0 ? "" : endpoint[(colon + 1)..];
        switch (scheme)
        {
            case "unix":
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(rest), ct);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                }

            case "tcp":
            case "ssl":
                {
                    var (host, port) = ParseHostPort(endpoint, rest);
                    var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    try
                    {
                        if (IPAddress.TryParse(host, out var ip))
                        {
                            await socket.ConnectAsync(new IPEndPoint(ip, port), ct);
                        }
                        else
                        {
                            await socket.ConnectAsync(host, port, ct);
                        }

                        var network = new NetworkStream(socket, ownsSocket: true);
                        return scheme == "tcp" ? network : await AuthenticateAsync(network, host, options, ct);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                }

            default:
                throw new ArgumentException($"unsupported OVSDB endpoint \"{endpoint}\" (expected tcp:IP:PORT, ssl:IP:PORT or unix:PATH)", nameof(endpoint));
        }
    }

    private static (string Host, int Port) ParseHostPort(string endpoint, string rest)
    {
        var sep = rest.LastIndexOf(':');
        if (sep <= 0 || !int.TryParse(rest.AsSpan(sep + 1), out var port) || port is <= 0 or > 65535)
        {
            throw new ArgumentException($"\"{endpoint}\" must be of the form tcp:IP:PORT or ssl:IP:PORT", nameof(endpoint));
        }

        var host = rest[..sep];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return (host, port);
    }

    private static async Task<Stream> AuthenticateAsync(NetworkStream network, string host, OvsdbClientOptions options, CancellationToken ct)
    {
        if (options.CaCertificateFile is null || options.CertificateFile is null || options.PrivateKeyFile is null)
        {
            throw new ArgumentException("ssl: endpoints need PrivateKeyFile, CertificateFile and CaCertificateFile");
        }

        var clientCert = X509Certificate2.CreateFromPemFile(options.CertificateFile, options.PrivateKeyFile);
        var ca = new X509Certificate2Collection();
        ca.ImportFromPemFile(options.CaCertificateFile);
        var ssl = new SslStream(network, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                ClientCertificates = [clientCert],
                RemoteCertificateValidationCallback = (_, cert, _, _) => ChainsTo(cert, ca),
            }, ct);
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }

        return ssl;
    }

    /// <summary>
    /// Like Open vSwitch, trust is the configured CA only, with no host-name check: switches are
    /// addressed by IP and their certificates rarely carry it.
    /// </summary>
    internal static bool ChainsTo(X509Certificate? certificate, X509Certificate2Collection ca)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var cert2 = new X509Certificate2(certificate);
        return chain.Build(cert2);
    }

    // ---------------------------------------------------------------- RFC 7047 methods

    public async Task<IReadOnlyList<string>> ListDatabasesAsync(CancellationToken cancellationToken = default)
    {
        var r = await CallAsync("list_dbs", _ => { }, cancellationToken);
        return [.. r.EnumerateArray().Select(e => e.GetString()!)];
    }

    /// <summary>"get_schema"; the result is cached and used to validate and decode later calls.</summary>
    public async Task<DatabaseSchema> GetSchemaAsync(string database, CancellationToken cancellationToken = default)
    {
        var r = await CallAsync("get_schema", w => w.WriteStringValue(database), cancellationToken);
        var schema = DatabaseSchema.Parse(r);
        _schemas[database] = schema;
        return schema;
    }

    public DatabaseSchema? GetCachedSchema(string database) => _schemas.TryGetValue(database, out var s) ? s : null;

    private async ValueTask<DatabaseSchema> SchemaAsync(string database, CancellationToken ct) =>
        GetCachedSchema(database) ?? await GetSchemaAsync(database, ct);

    /// <summary>
    /// "transact". Operations are validated against the schema first (<see cref="OvsdbSchemaException"/>).
    /// Operation errors are reported in the result; call <see cref="TransactResult.EnsureSuccess"/> to throw.
    /// Cancelling the token sends a "cancel" notification for the request.
    /// </summary>
    public async Task<TransactResult> TransactAsync(string database, IReadOnlyList<Operation> operations, CancellationToken cancellationToken = default)
    {
        var schema = await SchemaAsync(database, cancellationToken);
        if (_options.ValidateOperations)
        {
            foreach (var op in operations)
            {
                op.Validate(schema);
            }
        }

        var r = operations.Count < StreamedTransaction
            ? await CallAsync("transact", w =>
            {
                w.WriteStringValue(database);
                foreach (var op in operations)
                {
                    op.WriteTo(w);
                }
            }, cancellationToken)
            : await CallCoreAsync("transact", (id, ct) => StreamTransactionAsync(id, database, operations, ct), null, null, cancellationToken);
        return TransactResult.Parse(r, operations, schema);
    }

    public Task<TransactResult> TransactAsync(string database, params Operation[] operations) =>
        TransactAsync(database, operations, CancellationToken.None);

    /// <summary>"echo": round-trips the given strings.</summary>
    public async Task<IReadOnlyList<string>> EchoAsync(IReadOnlyList<string>? payload = null, CancellationToken cancellationToken = default)
    {
        var r = await CallAsync("echo", w =>
        {
            foreach (var s in payload ?? [])
            {
                w.WriteStringValue(s);
            }
        }, cancellationToken);
        return [.. r.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText())];
    }

    /// <summary>
    /// Starts a monitor. <paramref name="onUpdate"/> is called on the connection's read loop, first with
    /// the initial reply and then for each notification, strictly in the order the server sent them.
    /// Returns the initial reply.
    /// </summary>
    public async Task<MonitorUpdate> MonitorAsync(
        string database,
        string monitorId,
        IReadOnlyList<MonitorRequest> requests,
        MonitorMethod method,
        Action<MonitorUpdate> onUpdate,
        string? lastTransactionId = null,
        CancellationToken cancellationToken = default)
    {
        var schema = await SchemaAsync(database, cancellationToken);
        foreach (var r in requests)
        {
            var table = schema.GetTable(r.Table);
            foreach (var c in r.Columns ?? [])
            {
                table.GetColumn(c);
            }

            foreach (var c in r.Where ?? [])
            {
                new SelectOperation(r.Table).Where(c.Column, c.Function, c.Value).Validate(schema);
            }
        }

        var registration = new MonitorRegistration(monitorId, method, schema, onUpdate);
        if (!_monitors.TryAdd(monitorId, registration))
        {
            throw new ArgumentException($"monitor id \"{monitorId}\" is already in use", nameof(monitorId));
        }

        var name = method switch
        {
            MonitorMethod.Monitor => "monitor",
            MonitorMethod.MonitorCond => "monitor_cond",
            _ => "monitor_cond_since",
        };
        MonitorUpdate? initial = null;
        try
        {
            await CallCoreAsync(name, w =>
            {
                w.WriteStringValue(database);
                w.WriteStringValue(monitorId);
                w.WriteStartObject();
                foreach (var group in requests.GroupBy(r => r.Table))
                {
                    w.WritePropertyName(group.Key);
                    if (method == MonitorMethod.Monitor)
                    {
                        group.First().WriteTo(w, conditional: false);
                    }
                    else
                    {
                        w.WriteStartArray();
                        foreach (var r in group)
                        {
                            r.WriteTo(w, conditional: true);
                        }

                        w.WriteEndArray();
                    }
                }

                w.WriteEndObject();
                if (method == MonitorMethod.MonitorCondSince)
                {
                    w.WriteStringValue(lastTransactionId ?? Guid.Empty.ToString("D"));
                }
            }, result =>
            {
                // Runs on the read loop so the initial state is applied before any later notification.
                initial = ParseInitial(registration, result);
                registration.OnUpdate(initial);
            }, null, cancellationToken);
        }
        catch
        {
            _monitors.TryRemove(monitorId, out _);
            throw;
        }

        return initial!;
    }

    private static MonitorUpdate ParseInitial(MonitorRegistration m, JsonElement result)
    {
        if (m.Method != MonitorMethod.MonitorCondSince)
        {
            return new MonitorUpdate(m.Id, m.Method, true, false, null, TableUpdates.Parse(result, m.Schema, m.Method == MonitorMethod.MonitorCond, initial: true));
        }

        if (result.ValueKind != JsonValueKind.Array || result.GetArrayLength() != 3)
        {
            throw new OvsdbProtocolException("monitor_cond_since reply must be [found, last-txn-id, updates]");
        }

        return new MonitorUpdate(m.Id, m.Method, true, result[0].ValueKind == JsonValueKind.True, result[1].GetString(), TableUpdates.Parse(result[2], m.Schema, true, initial: true));
    }

    public async Task MonitorCancelAsync(string monitorId, CancellationToken cancellationToken = default)
    {
        await CallAsync("monitor_cancel", w => w.WriteStringValue(monitorId), cancellationToken);
        _monitors.TryRemove(monitorId, out _);
    }

    /// <summary>"lock": true when acquired at once; otherwise a "locked" notification follows later.</summary>
    public async Task<bool> LockAsync(string lockName, CancellationToken cancellationToken = default)
    {
        ValidateLockName(lockName);
        var r = await CallAsync("lock", w => w.WriteStringValue(lockName), cancellationToken);
        return r.TryGetProperty("locked", out var l) && l.ValueKind == JsonValueKind.True;
    }

    /// <summary>"steal": takes the lock from its current owner, which receives "stolen".</summary>
    public async Task StealAsync(string lockName, CancellationToken cancellationToken = default)
    {
        ValidateLockName(lockName);
        await CallAsync("steal", w => w.WriteStringValue(lockName), cancellationToken);
    }

    /// <summary>Lock names are RFC 7047 &lt;id&gt;s: [a-zA-Z_][a-zA-Z0-9_]*.</summary>
    private static void ValidateLockName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_') || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new ArgumentException($"\"{name}\" is not a valid lock name (an <id>: letters, digits and '_')", nameof(name));
        }
    }

    public async Task UnlockAsync(string lockName, CancellationToken cancellationToken = default)
    {
        await CallAsync("unlock", w => w.WriteStringValue(lockName), cancellationToken);
        _lockWaiters.TryRemove(lockName, out _);
    }

    /// <summary>Sends "lock" and completes when the lock is held (immediately or on the "locked" notification).</summary>
    public async Task AcquireLockAsync(string lockName, CancellationToken cancellationToken = default)
    {
        var waiter = _lockWaiters.GetOrAdd(lockName, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (await LockAsync(lockName, cancellationToken))
        {
            waiter.TrySetResult();
        }

        await waiter.Task.WaitAsync(cancellationToken);
    }

    // ---------------------------------------------------------------- JSON-RPC core

    /// <summary>Sends a request with the default call timeout and returns its "result".</summary>
    public Task<JsonElement> CallAsync(string method, Action<Utf8JsonWriter> writeParams, CancellationToken cancellationToken = default) =>
        CallCoreAsync(method, writeParams, null, null, cancellationToken);

    public Task<JsonElement> CallAsync(string method, Action<Utf8JsonWriter> writeParams, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        CallCoreAsync(method, writeParams, null, timeout, cancellationToken);

    private Task<JsonElement> CallCoreAsync(string method, Action<Utf8JsonWriter> writeParams, Action<JsonElement>? inReadLoop, TimeSpan? timeout, CancellationToken ct) =>
        CallCoreAsync(method, (id, c) => WriteAsync(JsonRpcWriter.Request(method, writeParams, id), c), inReadLoop, timeout, ct);

    private async Task<JsonElement> CallCoreAsync(string method, Func<long, CancellationToken, Task> send, Action<JsonElement>? inReadLoop, TimeSpan? timeout, CancellationToken ct)
    {
        ThrowIfClosed();
        var id = Interlocked.Increment(ref _nextId);
        var call = new PendingCall(method, inReadLoop);
        _pending[id] = call;
        try
        {
            if (!IsConnected)
            {
                ThrowIfClosed();
            }

            await send(id, ct);
            var limit = timeout ?? _options.CallTimeout;
            try
            {
                return await call.Task.WaitAsync(limit, ct);
            }
            catch (TimeoutException)
            {
                throw new OvsdbTimeoutException($"{method} to {Endpoint}: no reply within {limit}");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested && method == "transact" && IsConnected)
            {
                await TrySendCancelAsync(id);
                throw;
            }
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    private async Task TrySendCancelAsync(long id)
    {
        try
        {
            await WriteAsync(JsonRpcWriter.Request("cancel", w => w.WriteNumberValue(id), null), CancellationToken.None);
        }
        catch (OvsdbException)
        {
            // The connection is going away; nothing left to cancel.
        }
    }

    // From this many operations on, a transaction is written to the socket while it is being serialised: the
    // server parses as it receives, and the whole message (tens of MB for 100,000 rows) never sits in memory.
    private const int StreamedTransaction = 1000;

    private async Task StreamTransactionAsync(long id, string database, IReadOnlyList<Operation> operations, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            ThrowIfClosed();
            await using var w = new Utf8JsonWriter(_stream, JsonRpcWriter.WriterOptions);
            w.WriteStartObject();
            w.WriteString("method"u8, "transact"u8);
            w.WritePropertyName("params"u8);
            w.WriteStartArray();
            w.WriteStringValue(database);
            foreach (var op in operations)
            {
                op.WriteTo(w);
                if (w.BytesPending >= WriteChunk)
                {
                    await w.FlushAsync(_closing.Token);
                }
            }

            w.WriteEndArray();
            w.WritePropertyName("id"u8);
            w.WriteNumberValue(id);
            w.WriteEndObject();
            await w.FlushAsync(_closing.Token);
            await _stream.FlushAsync(_closing.Token);
        }
        catch (Exception ex) when (ex is not OvsdbConnectionException)
        {
            // Part of a message may be on the wire: the connection cannot carry another one.
            var error = new OvsdbConnectionException($"connection to {Endpoint} failed while sending: {ex.Message}", ex);
            Close(error);
            throw error;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Writes a pre-serialized message as is (benchmarks, tools).</summary>
    public Task SendRawAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) => WriteAsync(message, cancellationToken);

    private async Task WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct);
        try
        {
            ThrowIfClosed();

            // Not cancellable once started: a half-written message would corrupt the stream.
            if (bytes.Length <= WriteChunk)
            {
                await _stream.WriteAsync(bytes, _closing.Token);
            }
            else
            {
                // A socket keeps a reference to the last buffer it sent; passing it a 30 MB message whole would
                // keep that message alive until the next send. Large messages go through one small buffer.
                _writeChunk ??= new byte[WriteChunk];
                for (var offset = 0; offset < bytes.Length; offset += WriteChunk)
                {
                    var part = bytes.Slice(offset, Math.Min(WriteChunk, bytes.Length - offset));
                    part.CopyTo(_writeChunk);
                    await _stream.WriteAsync(_writeChunk.AsMemory(0, part.Length), _closing.Token);
                }
            }

            await _stream.FlushAsync(_closing.Token);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException || (ex is OperationCanceledException && _closing.IsCancellationRequested))
        {
            var error = new OvsdbConnectionException($"connection to {Endpoint} failed while sending: {ex.Message}", ex);
            Close(error);
            throw error;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private void ThrowIfClosed()
    {
        if (_closed.Task.IsCompleted)
        {
            var reason = _closed.Task.Result;
            throw new OvsdbConnectionException($"connection to {Endpoint} is closed{(reason is null ? "" : $": {reason.Message}")}", reason);
        }
    }

    private async Task ReadLoopAsync()
    {
        Exception? reason;
        try
        {
            while (true)
            {
                var message = await _reader.ReadAsync(_closing.Token);
                if (message is null)
                {
                    reason = new OvsdbConnectionException($"connection to {Endpoint} closed by peer");
                    break;
                }

                Volatile.Write(ref _lastReceive, Environment.TickCount64);
                await DispatchAsync(message);
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            return;
        }
        catch (OvsdbProtocolException ex)
        {
            reason = ex;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            reason = new OvsdbConnectionException($"connection to {Endpoint} failed: {ex.Message}", ex);
        }
        catch (Exception ex)
        {
            // A monitor callback failed; the replica behind it can no longer be trusted.
            reason = new OvsdbException($"connection to {Endpoint} closed after a handler failed: {ex.Message}", ex);
        }

        Close(reason);
    }

    private async Task DispatchAsync(JsonRpcMessage message)
    {
        switch (message.Kind)
        {
            case JsonRpcMessageKind.Response:
                if (message.Id.ValueKind == JsonValueKind.Number && message.Id.TryGetInt64(out var id) && _pending.TryGetValue(id, out var call))
                {
                    call.Complete(message);
                }
                else if (message.Id.ValueKind == JsonValueKind.String && message.Id.GetString() == "echo")
                {
                    // Reply to our own inactivity probe; receiving it is all that matters.
                }

                break;
            case JsonRpcMessageKind.Request:
                if (message.Method == "echo")
                {
                    var p = message.Params;
                    await WriteAsync(JsonRpcWriter.Response(message.Id, w => p.WriteTo(w), null), CancellationToken.None);
                    Interlocked.Increment(ref _echoesAnswered);
                }
                else
                {
                    await WriteAsync(JsonRpcWriter.Response(message.Id, null, "unknown method"), CancellationToken.None);
                }

                break;
            default:
                HandleNotification(message);
                break;
        }
    }

    private void HandleNotification(JsonRpcMessage message)
    {
        var p = message.Params;
        switch (message.Method)
        {
            case "update" or "update2" when p.GetArrayLength() == 2:
                if (_monitors.TryGetValue(MonitorKey(p[0]), out var m))
                {
                    m.OnUpdate(new MonitorUpdate(m.Id, m.Method, false, false, null, TableUpdates.Parse(p[1], m.Schema, message.Method == "update2", initial: false)));
                }

                break;
            case "update3" when p.GetArrayLength() == 3:
                if (_monitors.TryGetValue(MonitorKey(p[0]), out var m3))
                {
                    m3.OnUpdate(new MonitorUpdate(m3.Id, m3.Method, false, false, p[1].GetString(), TableUpdates.Parse(p[2], m3.Schema, true, initial: false)));
                }

                break;
            case "locked" when p.GetArrayLength() == 1:
                var locked = p[0].GetString() ?? "";
                if (_lockWaiters.TryGetValue(locked, out var waiter))
                {
                    waiter.TrySetResult();
                }

                LockAcquired?.Invoke(this, new OvsdbLockEventArgs(locked));
                break;
            case "stolen" when p.GetArrayLength() == 1:
                var stolen = p[0].GetString() ?? "";
                _lockWaiters.TryRemove(stolen, out _);
                LockStolen?.Invoke(this, new OvsdbLockEventArgs(stolen));
                break;
        }
    }

    private static string MonitorKey(JsonElement id) => id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText();

    private async Task ProbeLoopAsync()
    {
        var interval = (long)_options.InactivityProbe.TotalMilliseconds;
        var tick = TimeSpan.FromMilliseconds(Math.Clamp(interval / 4, 10, 1000));
        long probeSentAt = -1;
        try
        {
            while (!_closing.IsCancellationRequested)
            {
                await Task.Delay(tick, _closing.Token);
                var now = Environment.TickCount64;
                var last = Volatile.Read(ref _lastReceive);
                if (probeSentAt >= 0 && last >= probeSentAt)
                {
                    probeSentAt = -1;
                }

                if (now - last < interval)
                {
                    continue;
                }

                if (probeSentAt < 0)
                {
                    probeSentAt = now;
                    await WriteAsync(EchoProbe.Value, CancellationToken.None);
                }
                else if (now - probeSentAt >= interval)
                {
                    Close(new OvsdbConnectionException($"connection to {Endpoint} is dead: no reply to an inactivity probe within {_options.InactivityProbe}"));
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (OvsdbException)
        {
            // WriteAsync already closed the connection.
        }
    }

    private static readonly Lazy<ReadOnlyMemory<byte>> EchoProbe = new(() =>
        "{\"method\":\"echo\",\"params\":[],\"id\":\"echo\"}"u8.ToArray());

    /// <summary>Closes the connection: pending calls fail with <see cref="OvsdbConnectionException"/>.</summary>
    private void Close(Exception? reason)
    {
        if (Interlocked.Exchange(ref _closeStarted, 1) != 0)
        {
            return;
        }

        _closed.TrySetResult(reason);
        _closing.Cancel();
        try
        {
            _stream.Dispose();
        }
        catch (IOException)
        {
        }

        var failure = new OvsdbConnectionException(
            reason is null ? $"connection to {Endpoint} was closed" : $"connection to {Endpoint} lost: {reason.Message}",
            reason);
        foreach (var (_, call) in _pending)
        {
            call.Fail(failure);
        }

        foreach (var (_, waiter) in _lockWaiters)
        {
            waiter.TrySetException(failure);
        }

        Disconnected?.Invoke(this, new OvsdbConnectionStateChangedEventArgs(OvsdbConnectionState.Disconnected, reason));
    }

    /// <summary>Closes the connection as if the link failed with <paramref name="reason"/> (tests, owners).</summary>
    public void Abort(Exception? reason = null) => Close(reason);

    public async ValueTask DisposeAsync()
    {
        Close(null);
        foreach (var t in new[] { _readLoop, _probeLoop })
        {
            if (t is not null)
            {
                try
                {
                    await t;
                }
                catch (Exception)
                {
                    // Loops report through Completion; nothing to rethrow at dispose.
                }
            }
        }

        await _pipe.CompleteAsync();

        // _closing and _writeLock are left to the collector: a send still in flight on another thread reads the
        // token and releases the lock after the close, and neither holds anything once cancelled (no wait handle
        // is ever taken from the semaphore).
    }

    private sealed class PendingCall(string method, Action<JsonElement>? inReadLoop)
    {
        private readonly TaskCompletionSource<JsonElement> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<JsonElement> Task => _tcs.Task;

        public void Complete(JsonRpcMessage reply)
        {
            if (reply.IsError)
            {
                var e = reply.Error;
                string error;
                string? details = null;
                if (e.ValueKind == JsonValueKind.Object)
                {
                    error = e.TryGetProperty("error", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : e.GetRawText();
                    details = e.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                }
                else
                {
                    error = e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText();
                }

                _tcs.TrySetException(new OvsdbRpcException(method, error, details));
                return;
            }

            if (inReadLoop is not null)
            {
                try
                {
                    inReadLoop(reply.Result);
                }
                catch (Exception ex) when (ex is OvsdbException)
                {
                    _tcs.TrySetException(ex);
                    return;
                }
            }

            _tcs.TrySetResult(reply.Result);
        }

        public void Fail(Exception ex) => _tcs.TrySetException(ex);
    }

    private sealed record MonitorRegistration(string Id, MonitorMethod Method, DatabaseSchema Schema, Action<MonitorUpdate> OnUpdate);
}
