using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using L2Gateway.Ovsdb.Connection;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Protocol;
using L2Gateway.Ovsdb.Schema;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Ovsdb;

/// <summary>The state of a connection or of a replica's link.</summary>
public enum OvsdbConnectionState
{
    /// <summary>Dialling, or waiting before the next attempt.</summary>
    Connecting,
    /// <summary>Connected; calls can be made.</summary>
    Connected,
    /// <summary>Closed or lost; a replica tries again.</summary>
    Disconnected,

    /// <summary>Gave up: reconnect attempts were exhausted, or the owner was disposed.</summary>
    Failed,
}

/// <summary>Raised when a connection changes state.</summary>
public sealed class OvsdbConnectionStateChangedEventArgs(OvsdbConnectionState state, Exception? reason) : EventArgs
{
    /// <summary>The new state.</summary>
    public OvsdbConnectionState State { get; } = state;

    /// <summary>Why the connection went down (null when connected or closed on purpose).</summary>
    public Exception? Reason { get; } = reason;
}

/// <summary>Raised when the server grants a lock ("locked") or takes it back ("stolen").</summary>
public sealed class OvsdbLockEventArgs(string lockName) : EventArgs
{
    /// <summary>The lock's name, as given to <see cref="OvsdbClient.LockAsync"/>.</summary>
    public string LockName { get; } = lockName;
}

/// <summary>
/// One RFC 7047 JSON-RPC connection. Requests may be issued concurrently; replies are matched by id.
/// Three tasks own the connection (docs/design.md, "The OVSDB connection"): the read loop only parses and
/// dispatches (completes calls, queues the reply to the server's "echo" on the control lane, hands
/// notifications to the event queue); one writer task writes whole messages, control messages first; one
/// event task runs subscriber code (events, monitor callbacks) in order, so that it can never block the socket.
/// Every fatal path goes through <see cref="Close"/>.
/// </summary>
public sealed class OvsdbClient : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly PipeReader _pipe;
    private readonly JsonRpcReader _reader;
    private readonly MessageWriter _writer;
    private readonly EventQueue _events;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly OvsdbMetrics? _metrics;
    private readonly KeyValuePair<string, object?> _tag;
    private readonly ConcurrentDictionary<long, PendingCall> _pending = new();
    private readonly ConcurrentDictionary<string, MonitorRegistration> _monitors = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DatabaseSchema> _schemas = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _lockWaiters = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource<Exception?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly OvsdbClientOptions _options;
    private long _nextId;
    private long _echoesAnswered;
    private long _lastReceive;
    private long _received;
    private int _closeStarted;
    private Task? _readLoop;
    private Task? _probeLoop;
    private Task? _writeLoop;

    private OvsdbClient(Stream stream, string endpoint, OvsdbClientOptions options)
    {
        _stream = stream;
        _options = options;
        Endpoint = endpoint;
        _time = options.TimeProvider;
        _lastReceive = _time.GetTimestamp();
        _logger = options.LoggerFactory.CreateLogger<OvsdbClient>();
        _metrics = OvsdbMetrics.For(options.MeterFactory);
        _tag = new("server.address", endpoint);
        _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 65536, minimumReadSize: 16384, leaveOpen: true));
        _reader = new JsonRpcReader(_pipe, options.MaxMessageSize, new MonitorLookup(this));
        _writer = new MessageWriter(stream, SendFailed, ClosedError, _metrics, _tag);
        _events = new EventQueue(_logger, $"OVSDB connection to {endpoint}", _ => _metrics?.Error("handler", _tag));
    }

    /// <summary>The endpoint dialled or accepted, e.g. "tcp:192.0.2.10:6640".</summary>
    public string Endpoint { get; }

    /// <summary><see cref="OvsdbConnectionState.Connected"/> until the connection closes, then <see cref="OvsdbConnectionState.Disconnected"/>.</summary>
    public OvsdbConnectionState State => _closed.Task.IsCompleted ? OvsdbConnectionState.Disconnected : OvsdbConnectionState.Connected;

    /// <summary>Whether the connection is open.</summary>
    public bool IsConnected => !_closed.Task.IsCompleted;

    /// <summary>Why the connection closed: null while open or after a deliberate close.</summary>
    public Exception? CloseReason => _closed.Task.IsCompleted ? _closed.Task.Result : null;

    /// <summary>Completes (never faults) when the connection is closed, with the reason.</summary>
    public Task<Exception?> Completion => _closed.Task;

    /// <summary>The options the connection was made with.</summary>
    public OvsdbClientOptions Options => _options;

    /// <summary>How many "echo" requests from the peer (its inactivity probes) this client has answered.</summary>
    public long EchoRequestsAnswered => Interlocked.Read(ref _echoesAnswered);

    /// <summary>Raised once, after every event queued before the close; on the connection's event task.</summary>
    public event EventHandler<OvsdbConnectionStateChangedEventArgs>? Disconnected;

    /// <summary>"locked" notification: a lock requested earlier has been acquired (on the connection's event task).</summary>
    public event EventHandler<OvsdbLockEventArgs>? LockAcquired;

    /// <summary>"stolen" notification: another client stole a lock this client held (on the connection's event task).</summary>
    public event EventHandler<OvsdbLockEventArgs>? LockStolen;

    /// <summary>
    /// Connects to "tcp:IP:PORT", "unix:PATH" or "ssl:IP:PORT" (ovs-vsctl connection method syntax).
    /// </summary>
    public static async Task<OvsdbClient> ConnectAsync(string endpoint, OvsdbClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new OvsdbClientOptions();
        using var limit = options.ConnectTimeout == Timeout.InfiniteTimeSpan ? new CancellationTokenSource() : new CancellationTokenSource(options.ConnectTimeout, options.TimeProvider);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, limit.Token);
        Stream stream;
        try
        {
            stream = await OpenStreamAsync(endpoint, options, timeout.Token).ConfigureAwait(false);
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
        _writeLoop = Task.Run(() => _writer.RunAsync(_closing.Token));
        _readLoop = Task.Run(ReadLoopAsync);
        if (_options.InactivityProbe > TimeSpan.Zero)
        {
            // Called here rather than on the pool: its first timer exists when FromStream returns (exact fake-clock tests).
            _probeLoop = ProbeLoopAsync();
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
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(rest), ct).ConfigureAwait(false);
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
                            await socket.ConnectAsync(new IPEndPoint(ip, port), ct).ConfigureAwait(false);
                        }
                        else
                        {
                            await socket.ConnectAsync(host, port, ct).ConfigureAwait(false);
                        }

                        var network = new NetworkStream(socket, ownsSocket: true);
                        return scheme == "tcp" ? network : await AuthenticateAsync(network, host, options, ct).ConfigureAwait(false);
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
            }, ct).ConfigureAwait(false);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
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

    /// <summary>RFC 7047 "list_dbs": the names of the server's databases.</summary>
    public async Task<IReadOnlyList<string>> ListDatabasesAsync(CancellationToken cancellationToken = default)
    {
        var r = await CallAsync("list_dbs", _ => { }, cancellationToken).ConfigureAwait(false);
        return [.. r.EnumerateArray().Select(e => e.GetString()!)];
    }

    /// <summary>"get_schema"; the result is cached and used to validate and decode later calls.</summary>
    public async Task<DatabaseSchema> GetSchemaAsync(string database, CancellationToken cancellationToken = default)
    {
        var r = await CallAsync("get_schema", w => w.WriteStringValue(database), cancellationToken).ConfigureAwait(false);
        var schema = DatabaseSchema.Parse(r);
        _schemas[database] = schema;
        return schema;
    }

    /// <summary>The schema of <paramref name="database"/> if <see cref="GetSchemaAsync"/> fetched it already, else null.</summary>
    public DatabaseSchema? GetCachedSchema(string database) => _schemas.TryGetValue(database, out var s) ? s : null;

    private async ValueTask<DatabaseSchema> SchemaAsync(string database, CancellationToken ct) =>
        GetCachedSchema(database) ?? await GetSchemaAsync(database, ct).ConfigureAwait(false);

    /// <summary>
    /// "transact". Operations are validated against the schema first (<see cref="OvsdbSchemaException"/>).
    /// Operation errors are reported in the result; call <see cref="TransactResult.EnsureSuccess"/> to throw.
    /// Cancelling the token sends a "cancel" notification for the request.
    /// </summary>
    public async Task<TransactResult> TransactAsync(string database, IReadOnlyList<Operation> operations, CancellationToken cancellationToken = default)
    {
        var schema = await SchemaAsync(database, cancellationToken).ConfigureAwait(false);
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
            }, cancellationToken).ConfigureAwait(false)
            : await CallCoreAsync("transact", id => new OutgoingMessage((stream, ct) => StreamTransactionAsync(stream, id, database, operations, ct)), false, null, null, cancellationToken).ConfigureAwait(false);
        return TransactResult.Parse(r, operations, schema);
    }

    /// <summary>RFC 7047 "transact" of <paramref name="operations"/> on <paramref name="database"/>, with the default timeout.</summary>
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
        }, cancellationToken).ConfigureAwait(false);
        return [.. r.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText())];
    }

    /// <summary>
    /// Starts a monitor. <paramref name="onUpdate"/> is called on the connection's event task (never on the read
    /// loop), first with the initial reply and then for each notification, strictly in the order the server sent
    /// them; the call completes after <paramref name="onUpdate"/> has taken the initial reply. An exception from
    /// <paramref name="onUpdate"/> closes the connection (its owner missed an update and must resynchronise), except
    /// on the initial reply, where it fails this call. Returns the initial reply.
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
        var schema = await SchemaAsync(database, cancellationToken).ConfigureAwait(false);
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
        try
        {
            await CallCoreAsync(name, id => new OutgoingMessage(JsonRpcWriter.Request(name, w =>
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
            }, id)), false, registration, null, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _monitors.TryRemove(monitorId, out _);
            throw;
        }

        return registration.Initial!;
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

    /// <summary>RFC 7047 "monitor_cancel": ends the monitor <paramref name="monitorId"/>.</summary>
    public async Task MonitorCancelAsync(string monitorId, CancellationToken cancellationToken = default)
    {
        await CallAsync("monitor_cancel", w => w.WriteStringValue(monitorId), cancellationToken).ConfigureAwait(false);
        _monitors.TryRemove(monitorId, out _);
    }

    /// <summary>"lock": true when acquired at once; otherwise a "locked" notification follows later.</summary>
    public async Task<bool> LockAsync(string lockName, CancellationToken cancellationToken = default)
    {
        ValidateLockName(lockName);
        var r = await ControlCallAsync("lock", lockName, cancellationToken).ConfigureAwait(false);
        return r.TryGetProperty("locked", out var l) && l.ValueKind == JsonValueKind.True;
    }

    /// <summary>"steal": takes the lock from its current owner, which receives "stolen".</summary>
    public async Task StealAsync(string lockName, CancellationToken cancellationToken = default)
    {
        ValidateLockName(lockName);
        await ControlCallAsync("steal", lockName, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lock names are RFC 7047 &lt;id&gt;s: [a-zA-Z_][a-zA-Z0-9_]*.</summary>
    private static void ValidateLockName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_') || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new ArgumentException($"\"{name}\" is not a valid lock name (an <id>: letters, digits and '_')", nameof(name));
        }
    }

    /// <summary>RFC 7047 "unlock": releases <paramref name="lockName"/> (or gives up waiting for it).</summary>
    public async Task UnlockAsync(string lockName, CancellationToken cancellationToken = default)
    {
        await ControlCallAsync("unlock", lockName, cancellationToken).ConfigureAwait(false);
        _lockWaiters.TryRemove(lockName, out _);
    }

    /// <summary>Sends "lock" and completes when the lock is held (immediately or on the "locked" notification).</summary>
    public async Task AcquireLockAsync(string lockName, CancellationToken cancellationToken = default)
    {
        var waiter = _lockWaiters.GetOrAdd(lockName, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (await LockAsync(lockName, cancellationToken).ConfigureAwait(false))
        {
            waiter.TrySetResult();
        }

        await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lock requests go on the control lane: a writer must not lose its lock behind its own bulk write.</summary>
    private Task<JsonElement> ControlCallAsync(string method, string lockName, CancellationToken ct) =>
        CallCoreAsync(method, id => new OutgoingMessage(JsonRpcWriter.Request(method, w => w.WriteStringValue(lockName), id)), true, null, null, ct);

    // ---------------------------------------------------------------- JSON-RPC core

    /// <summary>Sends a request with the default call timeout and returns its "result".</summary>
    public Task<JsonElement> CallAsync(string method, Action<Utf8JsonWriter> writeParams, CancellationToken cancellationToken = default) =>
        CallCoreAsync(method, id => new OutgoingMessage(JsonRpcWriter.Request(method, writeParams, id)), false, null, null, cancellationToken);

    /// <summary>Sends request <paramref name="method"/> with the parameters <paramref name="writeParams"/> writes and returns its "result"; <paramref name="timeout"/> replaces the default call timeout.</summary>
    public Task<JsonElement> CallAsync(string method, Action<Utf8JsonWriter> writeParams, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        CallCoreAsync(method, id => new OutgoingMessage(JsonRpcWriter.Request(method, writeParams, id)), false, null, timeout, cancellationToken);

    private async Task<JsonElement> CallCoreAsync(string method, Func<long, OutgoingMessage> build, bool control, MonitorRegistration? monitor, TimeSpan? timeout, CancellationToken ct)
    {
        ThrowIfClosed();
        ct.ThrowIfCancellationRequested();
        var id = Interlocked.Increment(ref _nextId);
        var call = new PendingCall(method, monitor);
        _pending[id] = call;
        _metrics?.InFlight(1, _tag);
        try
        {
            if (!IsConnected)
            {
                ThrowIfClosed();
            }

            var request = build(id);
            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            request.Written = written;
            request.Cancellation = ct;
            _writer.Enqueue(request, control);
            var limit = timeout ?? _options.CallTimeout;
            try
            {
                // The timeout runs from the moment the request is on the socket, as it always has: writing a
                // 100,000-row transaction is not the server being slow.
                await written.Task.WaitAsync(ct).ConfigureAwait(false);
                return await call.Task.WaitAsync(limit, _time, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _metrics?.Error("timeout", _tag);
                throw new OvsdbTimeoutException($"{method} to {Endpoint}: no reply within {limit}");
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested && method == "transact" && IsConnected)
            {
                // Harmless when the request was dropped before it started: the server ignores a cancel for an id it
                // does not know.
                SendCancel(id);
                throw;
            }
        }
        finally
        {
            _pending.TryRemove(id, out _);
            _metrics?.InFlight(-1, _tag);
        }
    }

    private void SendCancel(long id) =>
        _writer.Enqueue(new OutgoingMessage(JsonRpcWriter.Request("cancel", w => w.WriteNumberValue(id), null)), control: false);

    // From this many operations on, a transaction is written to the socket while it is being serialised: the
    // server parses as it receives, and the whole message (tens of MB for 100,000 rows) never sits in memory.
    private const int StreamedTransaction = 1000;

    private static async Task<long> StreamTransactionAsync(Stream stream, long id, string database, IReadOnlyList<Operation> operations, CancellationToken ct)
    {
        var w = new Utf8JsonWriter(stream, JsonRpcWriter.WriterOptions);
        await using (w.ConfigureAwait(false))
        {
            w.WriteStartObject();
            w.WriteString("method"u8, "transact"u8);
            w.WritePropertyName("params"u8);
            w.WriteStartArray();
            w.WriteStringValue(database);
            foreach (var op in operations)
            {
                op.WriteTo(w);
                if (w.BytesPending >= MessageWriter.Chunk)
                {
                    await w.FlushAsync(ct).ConfigureAwait(false);
                }
            }

            w.WriteEndArray();
            w.WritePropertyName("id"u8);
            w.WriteNumberValue(id);
            w.WriteEndObject();
            await w.FlushAsync(ct).ConfigureAwait(false);
            return w.BytesCommitted;
        }
    }

    /// <summary>Writes a pre-serialized message as is, queued behind other bulk messages (tests, benchmarks).</summary>
    internal Task SendRawAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _writer.Enqueue(new OutgoingMessage(message) { Written = written, Cancellation = cancellationToken }, control: false);
        return written.Task;
    }

    /// <summary>The writer failed mid-message: the connection goes down through the one funnel.</summary>
    private OvsdbConnectionException SendFailed(Exception ex)
    {
        if (ex is OvsdbConnectionException known)
        {
            Close(known);
            return known;
        }

        var error = _closed.Task.IsCompleted
            ? ClosedError()
            : new OvsdbConnectionException($"connection to {Endpoint} failed while sending: {ex.Message}", ex);
        Close(error);
        return error;
    }

    private OvsdbConnectionException ClosedError()
    {
        var reason = _closed.Task.IsCompleted ? _closed.Task.Result : null;
        return new OvsdbConnectionException($"connection to {Endpoint} is closed{(reason is null ? "" : $": {reason.Message}")}", reason);
    }

    private void ThrowIfClosed()
    {
        if (_closed.Task.IsCompleted)
        {
            throw ClosedError();
        }
    }

    // ---------------------------------------------------------------- read loop: parse and dispatch, nothing else

    private async Task ReadLoopAsync()
    {
        Exception? reason;
        try
        {
            while (true)
            {
                var message = await _reader.ReadAsync(_closing.Token).ConfigureAwait(false);
                if (message is null)
                {
                    reason = new OvsdbConnectionException($"connection to {Endpoint} closed by peer");
                    break;
                }

                Volatile.Write(ref _lastReceive, _time.GetTimestamp());
                Interlocked.Increment(ref _received);
                _metrics?.Received(_reader.LastMessageLength, _tag);
                Dispatch(message);
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
            reason = new OvsdbException($"connection to {Endpoint} failed reading: {ex.Message}", ex);
        }

        Close(reason);
    }

    private void Dispatch(JsonRpcMessage message)
    {
        switch (message.Kind)
        {
            case JsonRpcMessageKind.Response when message.Update is { } parsed:
                // A monitor's reply, parsed straight into table updates by the reader.
                if (_pending.TryGetValue(message.RequestId, out var monitorCall) && monitorCall.Monitor is { } registration)
                {
                    PostInitial(monitorCall, registration, parsed);
                }

                break;
            case JsonRpcMessageKind.Response:
                if (message.Id.ValueKind == JsonValueKind.Number && message.Id.TryGetInt64(out var id) && _pending.TryGetValue(id, out var call))
                {
                    if (call.Monitor is { } monitor && !message.IsError)
                    {
                        CompleteMonitor(call, monitor, message.Result);
                    }
                    else
                    {
                        call.Complete(message);
                    }
                }

                // A string id "echo" is the reply to our inactivity probe: receiving it is all that matters.
                break;
            case JsonRpcMessageKind.Request:
                // Answered on the control lane: never behind queued bulk sends, and the read loop does not wait.
                var reply = message.Method == "echo"
                    ? JsonRpcWriter.Response(message.Id, message.Params.WriteTo, null)
                    : JsonRpcWriter.Response(message.Id, null, "unknown method");
                _writer.Enqueue(new OutgoingMessage(reply) { OnWritten = message.Method == "echo" ? CountEcho : null }, control: true);
                break;
            default:
                HandleNotification(message);
                break;
        }
    }

    private void CountEcho() => Interlocked.Increment(ref _echoesAnswered);

    /// <summary>
    /// The initial state is parsed here and handed to the monitor's callback through the event queue, so it runs
    /// before any later notification of that monitor; the call completes once the callback has taken it.
    /// </summary>
    private void CompleteMonitor(PendingCall call, MonitorRegistration monitor, JsonElement result)
    {
        MonitorUpdate initial;
        try
        {
            initial = ParseInitial(monitor, result);
        }
        catch (OvsdbException ex)
        {
            call.Fail(ex);
            return;
        }

        PostInitial(call, monitor, initial);
    }

    private void PostInitial(PendingCall call, MonitorRegistration monitor, MonitorUpdate initial)
    {
        var posted = _events.Post("monitor", () =>
        {
            try
            {
                monitor.OnUpdate(initial);
            }
            catch (Exception ex)
            {
                call.Fail(ex);
                return;
            }

            monitor.Initial = initial;
            call.Succeed(default);
        });
        if (!posted)
        {
            call.Fail(ClosedError());
        }
    }

    private void HandleNotification(JsonRpcMessage message)
    {
        if (message.Update is { } update)
        {
            // Parsed straight into table updates by the reader, for a monitor it knew.
            if (_monitors.TryGetValue(update.MonitorId, out var registration))
            {
                PostUpdate(registration, update);
            }

            return;
        }

        var p = message.Params;
        switch (message.Method)
        {
            case "update" or "update2" when p.GetArrayLength() == 2:
                if (_monitors.TryGetValue(MonitorKey(p[0]), out var m))
                {
                    PostUpdate(m, new MonitorUpdate(m.Id, m.Method, false, false, null, TableUpdates.Parse(p[1], m.Schema, message.Method == "update2", initial: false)));
                }

                break;
            case "update3" when p.GetArrayLength() == 3:
                if (_monitors.TryGetValue(MonitorKey(p[0]), out var m3))
                {
                    PostUpdate(m3, new MonitorUpdate(m3.Id, m3.Method, false, false, p[1].GetString(), TableUpdates.Parse(p[2], m3.Schema, true, initial: false)));
                }

                break;
            case "locked" when p.GetArrayLength() == 1:
                var locked = p[0].GetString() ?? "";
                if (_lockWaiters.TryGetValue(locked, out var waiter))
                {
                    waiter.TrySetResult();
                }

                _events.Post("LockAcquired", () => LockAcquired?.Invoke(this, new OvsdbLockEventArgs(locked)));
                break;
            case "stolen" when p.GetArrayLength() == 1:
                var stolen = p[0].GetString() ?? "";
                _lockWaiters.TryRemove(stolen, out _);
                _events.Post("LockStolen", () => LockStolen?.Invoke(this, new OvsdbLockEventArgs(stolen)));
                break;
        }
    }

    private void PostUpdate(MonitorRegistration m, MonitorUpdate update) =>
        _events.Post("monitor", () =>
        {
            try
            {
                m.OnUpdate(update);
            }
            catch (Exception ex)
            {
                // The monitor's owner missed an update: its copy can no longer be trusted, it must resynchronise.
                _logger.LogError(ex, "OVSDB connection to {Endpoint}: monitor {Monitor} failed to take an update; closing", Endpoint, m.Id);
                Close(new OvsdbException($"connection to {Endpoint} closed after monitor {m.Id} failed to take an update: {ex.Message}", ex));
            }
        });

    private static string MonitorKey(JsonElement id) => id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText();

    /// <summary>
    /// After <see cref="OvsdbClientOptions.InactivityProbe"/> without receiving anything, an "echo" goes on the
    /// control lane; if nothing at all arrives within another interval, the link is dead. One timer at a time, on
    /// the options' clock.
    /// </summary>
    private async Task ProbeLoopAsync()
    {
        var interval = _options.InactivityProbe;
        try
        {
            while (!_closing.IsCancellationRequested)
            {
                var idle = _time.GetElapsedTime(Volatile.Read(ref _lastReceive));
                if (idle < interval)
                {
                    await Task.Delay(interval - idle, _time, _closing.Token).ConfigureAwait(false);
                    continue;
                }

                var received = Interlocked.Read(ref _received);

                // The timer first: whoever sees the probe on the wire knows the deadline is already running.
                var deadline = Task.Delay(interval, _time, _closing.Token);
                _writer.Enqueue(new OutgoingMessage(EchoProbe), control: true);
                await deadline.ConfigureAwait(false);
                if (Interlocked.Read(ref _received) == received)
                {
                    Close(new OvsdbConnectionException($"connection to {Endpoint} is dead: no reply to an inactivity probe within {interval}"));
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static readonly ReadOnlyMemory<byte> EchoProbe = "{\"method\":\"echo\",\"params\":[],\"id\":\"echo\"}"u8.ToArray();

    /// <summary>
    /// The one failure funnel: closes the connection, fails pending calls and queued sends with
    /// <see cref="OvsdbConnectionException"/>, and queues <see cref="Disconnected"/> as the last event.
    /// </summary>
    private void Close(Exception? reason)
    {
        if (Interlocked.Exchange(ref _closeStarted, 1) != 0)
        {
            return;
        }

        // Counted before anyone can observe the close through Completion.
        if (reason is not null)
        {
            _metrics?.Error(reason is OvsdbProtocolException ? "protocol" : "disconnect", _tag);
            _logger.LogWarning("OVSDB connection to {Endpoint} lost: {Reason}", Endpoint, reason.Message);
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

        _events.Post("Disconnected", () => Disconnected?.Invoke(this, new OvsdbConnectionStateChangedEventArgs(OvsdbConnectionState.Disconnected, reason)));
        _events.Complete();
    }

    /// <summary>Closes the connection as if the link failed with <paramref name="reason"/> (tests).</summary>
    internal void Abort(Exception? reason = null) => Close(reason);

    /// <summary>
    /// Closes the connection and waits for its tasks, the event task included (queued events still run; a
    /// subscriber that never returns makes this never return). Called from an event handler, it does not wait for
    /// the event task, which then ends by itself.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        Close(null);
        foreach (var t in new[] { _readLoop, _probeLoop, _writeLoop, _events.WaitAsync() })
        {
            if (t is not null)
            {
                try
                {
                    await t.ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // The loops report through Completion and never throw; this is a bug worth a line in the log.
                    _logger.LogError(ex, "OVSDB connection to {Endpoint}: a connection task failed", Endpoint);
                }
            }
        }

        await _pipe.CompleteAsync().ConfigureAwait(false);
        Debug.Assert(_pending.IsEmpty || _closed.Task.IsCompleted, "calls left pending after dispose");

        // _closing is left to the collector: a caller still in CallCoreAsync on another thread may read its token.
    }

    private sealed class PendingCall(string method, MonitorRegistration? monitor)
    {
        private readonly TaskCompletionSource<JsonElement> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<JsonElement> Task => _tcs.Task;

        /// <summary>Set for a monitor request: its reply goes through the event queue.</summary>
        public MonitorRegistration? Monitor => monitor;

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

            _tcs.TrySetResult(reply.Result);
        }

        public void Succeed(JsonElement result) => _tcs.TrySetResult(result);

        public void Fail(Exception ex) => _tcs.TrySetException(ex);
    }

    /// <summary>Tells the reader which monitors exist, so that their traffic is parsed in one pass into table updates.</summary>
    private sealed class MonitorLookup(OvsdbClient client) : IMonitorLookup
    {
        public MonitorContext? ByMonitorId(string monitorId) => client._monitors.TryGetValue(monitorId, out var m) ? m.Context : null;

        public MonitorContext? ByRequestId(long requestId) => client._pending.TryGetValue(requestId, out var call) ? call.Monitor?.Context : null;
    }

    private sealed class MonitorRegistration(string id, MonitorMethod method, DatabaseSchema schema, Action<MonitorUpdate> onUpdate)
    {
        public MonitorContext Context { get; } = new(id, method, schema);

        public string Id => id;

        public MonitorMethod Method => method;

        public DatabaseSchema Schema => schema;

        public Action<MonitorUpdate> OnUpdate => onUpdate;

        /// <summary>The initial reply, set on the event task once <see cref="OnUpdate"/> has taken it.</summary>
        public MonitorUpdate? Initial { get; set; }
    }
}
