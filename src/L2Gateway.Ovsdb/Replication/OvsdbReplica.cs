using System.Collections.Immutable;
using L2Gateway.Ovsdb.Connection;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Protocol;
using L2Gateway.Ovsdb.Schema;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Ovsdb.Replication;

/// <summary>How a replica connects and reconnects.</summary>
public sealed class OvsdbReplicaOptions
{
    /// <summary>The options of each connection the replica makes.</summary>
    public OvsdbClientOptions Client { get; set; } = new();

    /// <summary>The wait before the first reconnect attempt; it doubles after each failure.</summary>
    public TimeSpan ReconnectInitialDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest wait between reconnect attempts.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Consecutive failed attempts before giving up (state <see cref="OvsdbConnectionState.Failed"/>); -1 never gives up.</summary>
    public int MaxReconnectAttempts { get; set; } = -1;

    /// <summary>Forces a monitor method; null picks the best the server offers.</summary>
    public MonitorMethod? Method { get; set; }

    /// <summary>
    /// Where each (re)connection comes from, instead of dialling the endpoint: passive mode hands the replica the
    /// connections a listener accepted from the switch.
    /// </summary>
    public Func<CancellationToken, Task<OvsdbClient>>? Connect { get; set; }
}

/// <summary>
/// An in-memory copy of some tables of one database, kept up to date by a monitor. Reads go through
/// immutable snapshots; the connection is re-established with exponential backoff and resynchronised
/// with monitor_cond_since from the last transaction id when the server can, otherwise by a full dump
/// that is reported as its differences from the previous copy. Updates are applied on the connection's event
/// task; <see cref="Changed"/> and <see cref="ConnectionStateChanged"/> are raised in order on a task of the
/// replica's own, so a slow subscriber delays neither the socket nor the snapshot.
/// </summary>
public sealed class OvsdbReplica : IAsyncDisposable
{
    private readonly string _endpoint;
    private readonly string _database;
    private readonly IReadOnlyList<string>? _tableFilter;
    private readonly OvsdbReplicaOptions _options;
    private readonly List<IndexDefinition> _indexes = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _applyLock = new();
    private readonly EventQueue _events;
    private ReplicaSnapshot _snapshot = new(ImmutableDictionary<string, ReplicaTable>.Empty, null);
    private MonitorMethod? _method;
    private volatile OvsdbClient? _client;
    private Task? _loop;
    private int _syncs;
    private int _monitorSeq;

    /// <summary>A replica of <paramref name="tables"/> (all tables when null) of <paramref name="database"/> at <paramref name="endpoint"/>; <see cref="StartAsync"/> connects it.</summary>
    public OvsdbReplica(string endpoint, string database, IEnumerable<string>? tables = null, OvsdbReplicaOptions? options = null)
    {
        _endpoint = endpoint;
        _database = database;
        _tableFilter = tables?.ToList();
        _options = options ?? new OvsdbReplicaOptions();
        _method = _options.Method;
        _events = new EventQueue(_options.Client.LoggerFactory.CreateLogger<OvsdbReplica>(), $"replica of {database} at {endpoint}", ex => LastError = ex);
    }

    /// <summary>Completes when the first complete copy is available; faults if the replica gives up first.</summary>
    public Task Ready => _ready.Task;

    /// <summary>The latest consistent copy of the replicated tables.</summary>
    public ReplicaSnapshot Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>The tables of the latest <see cref="Snapshot"/>.</summary>
    public ImmutableDictionary<string, ReplicaTable> Tables => Snapshot.Tables;

    /// <summary>The state of the replica's link to the server.</summary>
    public OvsdbConnectionState State { get; private set; } = OvsdbConnectionState.Disconnected;

    /// <summary>The last failure: of a connection attempt, or of a <see cref="Changed"/> handler.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>The live connection, usable for transactions; null while disconnected.</summary>
    public OvsdbClient? Client => _client;

    /// <summary>The database schema, once connected.</summary>
    public DatabaseSchema? Schema { get; private set; }

    /// <summary>The monitor method in use on the current (or last) connection.</summary>
    public MonitorMethod? Method => _method;

    /// <summary>How many times the replica has (re)synchronised.</summary>
    public int SyncCount => _syncs;

    /// <summary>Whether the last resync could use monitor_cond_since's "found" (changes only).</summary>
    public bool LastResyncWasIncremental { get; private set; }

    /// <summary>
    /// Raised after each batch of changes has been applied, on the replica's event task (never on the read loop).
    /// An exception from a handler is logged and kept in <see cref="LastError"/>; the next event still comes.
    /// </summary>
    public event EventHandler<ReplicaChangedEventArgs>? Changed;

    /// <summary>Raised on the replica's event task, in order with <see cref="Changed"/>.</summary>
    public event EventHandler<OvsdbConnectionStateChangedEventArgs>? ConnectionStateChanged;

    /// <summary>Maintains an index over <paramref name="columns"/>; call before <see cref="StartAsync"/>.</summary>
    public OvsdbReplica AddIndex(string table, params string[] columns)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("indexes must be added before StartAsync");
        }

        _indexes.Add(new IndexDefinition(table, columns));
        return this;
    }

    /// <summary>Starts connecting in the background; await <see cref="Ready"/> for the first copy.</summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("already started");
        }

        cancellationToken.Register(() => _stop.Cancel());
        _loop = Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>RFC 7047 "transact" on the replicated database over the live connection; fails with <see cref="OvsdbConnectionException"/> while disconnected.</summary>
    public async Task<TransactResult> TransactAsync(IReadOnlyList<Operation> operations, CancellationToken cancellationToken = default)
    {
        var client = _client ?? throw new OvsdbConnectionException($"replica of {_database} at {_endpoint} is not connected");
        return await client.TransactAsync(_database, operations, cancellationToken).ConfigureAwait(false);
    }

    private void SetState(OvsdbConnectionState state, Exception? reason)
    {
        State = state;
        if (reason is not null)
        {
            LastError = reason;
        }

        var args = new OvsdbConnectionStateChangedEventArgs(state, reason);
        _events.Post("ConnectionStateChanged", () => ConnectionStateChanged?.Invoke(this, args));
    }

    private async Task RunAsync()
    {
        var failures = 0;
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            OvsdbClient? client = null;
            Exception? reason;
            try
            {
                SetState(OvsdbConnectionState.Connecting, null);
                client = _options.Connect is { } connect
                    ? await connect(ct).ConfigureAwait(false)
                    : await OvsdbClient.ConnectAsync(_endpoint, _options.Client, ct).ConfigureAwait(false);
                var schema = await client.GetSchemaAsync(_database, ct).ConfigureAwait(false);
                Schema = schema;
                await MonitorAsync(client, schema, ct).ConfigureAwait(false);
                _client = client;
                failures = 0;
                SetState(OvsdbConnectionState.Connected, null);
                _ready.TrySetResult();
                reason = await client.Completion.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                reason = ex;
            }
            finally
            {
                _client = null;
                if (client is not null)
                {
                    await client.DisposeAsync().ConfigureAwait(false);
                }
            }

            if (ct.IsCancellationRequested)
            {
                break;
            }

            failures++;
            SetState(OvsdbConnectionState.Disconnected, reason);
            if (_options.MaxReconnectAttempts >= 0 && failures > _options.MaxReconnectAttempts)
            {
                var error = new OvsdbConnectionException($"giving up on {_endpoint} after {failures} failed attempt(s): {reason?.Message}", reason);
                SetState(OvsdbConnectionState.Failed, error);
                _ready.TrySetException(error);
                return;
            }

            var delay = TimeSpan.FromTicks(Math.Min(_options.ReconnectMaxDelay.Ticks, _options.ReconnectInitialDelay.Ticks << Math.Min(failures - 1, 30)));
            try
            {
                await Task.Delay(delay, _options.Client.TimeProvider, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        _ready.TrySetCanceled();
        SetState(OvsdbConnectionState.Failed, null);
    }

    private async Task MonitorAsync(OvsdbClient client, DatabaseSchema schema, CancellationToken ct)
    {
        var tables = _tableFilter ?? [.. schema.Tables.Keys];
        // The columns named rather than left to the server: "all" includes _version, which the replica never reads,
        // and it would make every update longer for the server to compose and for us to parse (a fifth of the echo
        // of a remote MAC row). A table without columns of its own keeps the server's "all": an empty list would
        // ask for nothing.
        var requests = tables.Select(t =>
        {
            var columns = schema.GetTable(t).UserColumns.Select(c => c.Name).ToList();
            return new MonitorRequest(t) { Columns = columns.Count > 0 ? columns : null };
        }).ToList();
        var candidates = _method is { } m ? [m] : new[] { MonitorMethod.MonitorCondSince, MonitorMethod.MonitorCond, MonitorMethod.Monitor };
        for (var i = 0; i < candidates.Length; i++)
        {
            var method = candidates[i];
            var id = $"replica-{Interlocked.Increment(ref _monitorSeq)}";
            try
            {
                await client.MonitorAsync(_database, id, requests, method, u => OnUpdate(schema, tables, u), Snapshot.LastTransactionId, ct).ConfigureAwait(false);
                _method = method;
                return;
            }
            catch (OvsdbRpcException) when (i < candidates.Length - 1 && _options.Method is null)
            {
                // Older servers answer "unknown method"; fall back to the next flavour.
            }
        }
    }

    private void OnUpdate(DatabaseSchema schema, IReadOnlyList<string> tables, MonitorUpdate update)
    {
        List<RowChange> changes;
        ReplicaSnapshot next;
        bool initial, resync;
        lock (_applyLock)
        {
            var current = _snapshot;
            var fullDump = update.IsInitial && !update.Found;
            initial = update.IsInitial && _syncs == 0;
            resync = update.IsInitial && _syncs > 0;
            if (update.IsInitial)
            {
                _syncs++;
                LastResyncWasIncremental = update.Found;
            }

            var tableStates = PrepareTables(current, schema, tables);
            changes = fullDump ? DiffFullDump(tableStates, update.Updates) : Incremental(tableStates, update.Updates);
            next = Apply(tableStates, changes, update.LastTransactionId ?? current.LastTransactionId);
            Volatile.Write(ref _snapshot, next);
        }

        if (changes.Count > 0 || initial)
        {
            // A subscriber's bug must not tear down the connection and the replica with it: the queue logs it.
            var args = new ReplicaChangedEventArgs(changes, initial, resync, next);
            _events.Post("Changed", () => Changed?.Invoke(this, args));
        }
    }

    private Dictionary<string, ReplicaTable> PrepareTables(ReplicaSnapshot current, DatabaseSchema schema, IReadOnlyList<string> tables)
    {
        var result = new Dictionary<string, ReplicaTable>(StringComparer.Ordinal);
        foreach (var name in tables)
        {
            var ts = schema.GetTable(name);
            if (current.Tables.TryGetValue(name, out var existing) && existing.Schema.Layout.SameAs(ts.Layout))
            {
                result[name] = existing;
                continue;
            }

            var defs = _indexes.Where(i => i.Table == name).ToDictionary(i => i.Name, StringComparer.Ordinal);
            foreach (var d in defs.Values)
            {
                foreach (var c in d.Columns)
                {
                    ts.GetColumn(c);
                }
            }

            var indexes = defs.Keys.ToImmutableDictionary(k => k, _ => ImmutableDictionary<IndexKey, ImmutableArray<Guid>>.Empty, StringComparer.Ordinal);
            var rows = existing?.Rows ?? ImmutableDictionary<Guid, Row>.Empty;
            var table = new ReplicaTable(ts, ImmutableDictionary<Guid, Row>.Empty, indexes, defs);
            if (!rows.IsEmpty)
            {
                // Schema object changed on reconnect: rebuild indexes over the rows we already had.
                table = Apply(new Dictionary<string, ReplicaTable> { [name] = table }, [.. rows.Values.Select(r => new RowChange(name, r.Uuid, null, CompleteRow(ts, r.Uuid, r)))], null).Tables[name];
            }

            result[name] = table;
        }

        return result;
    }

    private static List<RowChange> DiffFullDump(Dictionary<string, ReplicaTable> tables, TableUpdates updates)
    {
        var changes = new List<RowChange>();
        foreach (var (name, table) in tables)
        {
            var seen = new HashSet<Guid>();
            if (updates.Tables.TryGetValue(name, out var rows))
            {
                foreach (var u in rows)
                {
                    if (u.New is null)
                    {
                        continue;
                    }

                    seen.Add(u.Uuid);
                    var row = CompleteRow(table.Schema, u.Uuid, u.New);
                    var old = table.Get(u.Uuid);
                    if (old is null || !old.ContentEquals(row))
                    {
                        changes.Add(new RowChange(name, u.Uuid, old, row));
                    }
                }
            }

            foreach (var old in table.Rows.Values)
            {
                if (!seen.Contains(old.Uuid))
                {
                    changes.Add(new RowChange(name, old.Uuid, old, null));
                }
            }
        }

        return changes;
    }

    private static List<RowChange> Incremental(Dictionary<string, ReplicaTable> tables, TableUpdates updates)
    {
        var changes = new List<RowChange>(updates.Count);
        foreach (var (name, rows) in updates.Tables)
        {
            if (!tables.TryGetValue(name, out var table))
            {
                continue;
            }

            var ts = table.Schema;
            foreach (var u in rows)
            {
                var old = table.Get(u.Uuid);
                switch (u.Kind)
                {
                    case RowUpdateKind.Initial or RowUpdateKind.Insert:
                        changes.Add(new RowChange(name, u.Uuid, old, CompleteRow(ts, u.Uuid, u.New!)));
                        break;
                    case RowUpdateKind.Delete:
                        if (old is not null)
                        {
                            changes.Add(new RowChange(name, u.Uuid, old, null));
                        }

                        break;
                    default:
                        if (old is null)
                        {
                            throw new OvsdbProtocolException($"modify of unknown row {u.Uuid} in {name}");
                        }

                        var values = (OvsdbDatum?[])(old.Layout.SameAs(ts.Layout) ? old.RawValues : CompleteRow(ts, old.Uuid, old).RawValues).Clone();
                        foreach (var (column, value) in u.New ?? new Dictionary<string, OvsdbDatum>())
                        {
                            if (!ts.Layout.TryGetIndex(column, out var i))
                            {
                                continue;
                            }

                            var composite = u.NewIsDiff && ts.Columns[column].Type.IsComposite;
                            values[i] = composite && values[i] is { } before ? before.ApplyDiff(value) : value;
                        }

                        changes.Add(new RowChange(name, u.Uuid, old, new Row(u.Uuid, ts.Layout, values)));
                        break;
                }
            }
        }

        return changes;
    }

    /// <summary>Adds the columns the server left out because they hold their default value.</summary>
    private static Row CompleteRow(TableSchema schema, Guid uuid, IReadOnlyDictionary<string, OvsdbDatum> columns)
    {
        var layout = schema.Layout;
        if (columns is Row complete && complete.Uuid == uuid && complete.Layout.SameAs(layout) && Array.IndexOf(complete.RawValues, null) < 0)
        {
            // A parsed row with every column is kept as it is: a bulk write's echo would otherwise be built twice.
            return complete;
        }

        var values = new OvsdbDatum?[layout.Count];
        if (columns is Row row && row.Layout.SameAs(layout))
        {
            Array.Copy(row.RawValues, values, values.Length);
        }
        else
        {
            foreach (var (name, value) in columns)
            {
                if (layout.TryGetIndex(name, out var i))
                {
                    values[i] = value;
                }
            }
        }

        for (var i = 0; i < values.Length; i++)
        {
            values[i] ??= schema.Columns[layout.Names[i]].Type.DefaultValue;
        }

        return new Row(uuid, layout, values);
    }

    private static ReplicaSnapshot Apply(Dictionary<string, ReplicaTable> tables, List<RowChange> changes, string? lastTxnId)
    {
        foreach (var group in changes.GroupBy(c => c.Table))
        {
            var table = tables[group.Key];
            var rows = table.Rows.ToBuilder();
            var indexes = table.IndexData.ToDictionary(i => i.Key, i => i.Value.ToBuilder(), StringComparer.Ordinal);
            var definitions = indexes.Keys.Select(k => (Definition: table.Definitions[k], Index: indexes[k])).ToArray();
            foreach (var change in group)
            {
                foreach (var (def, index) in definitions)
                {
                    var oldKey = change.Old is null ? null : def.KeyOf(change.Old);
                    var newKey = change.New is null ? null : def.KeyOf(change.New);
                    if (oldKey is not null && newKey is not null && oldKey.Equals(newKey))
                    {
                        continue; // the indexed columns did not change
                    }

                    if (oldKey is not null && index.TryGetValue(oldKey, out var set))
                    {
                        set = set.Remove(change.Uuid);
                        if (set.IsEmpty)
                        {
                            index.Remove(oldKey);
                        }
                        else
                        {
                            index[oldKey] = set;
                        }
                    }

                    if (newKey is not null)
                    {
                        var existing = index.TryGetValue(newKey, out var current) ? current : [];
                        if (!existing.Contains(change.Uuid))
                        {
                            index[newKey] = existing.Add(change.Uuid);
                        }
                    }
                }

                if (change.New is null)
                {
                    rows.Remove(change.Uuid);
                }
                else
                {
                    rows[change.Uuid] = change.New;
                }
            }

            tables[group.Key] = new ReplicaTable(
                table.Schema,
                rows.ToImmutable(),
                indexes.ToImmutableDictionary(i => i.Key, i => i.Value.ToImmutable(), StringComparer.Ordinal),
                table.Definitions);
        }

        return new ReplicaSnapshot(tables.ToImmutableDictionary(StringComparer.Ordinal), lastTxnId);
    }

    /// <summary>Stops the replica and waits for its tasks, the event task included (queued events still run).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_client is { } c)
        {
            await c.DisposeAsync().ConfigureAwait(false);
        }

        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        _ready.TrySetCanceled();
        _events.Complete();
        await _events.WaitAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
