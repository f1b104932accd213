using System.Text.Json;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Schema;

// CS1591 (public member without an XML comment) is off in this file alone. Operation builders: each type is one RFC 7047 section 5.2 operation and its members are that operation's JSON members (table, where, row, columns, mutations, until, ...), named as the RFC names them; the types' summaries say which.
#pragma warning disable CS1591

namespace L2Gateway.Ovsdb.Operations;

/// <summary>An RFC 7047 &lt;function&gt; of a condition.</summary>
public enum ConditionFunction
{
    LessThan,
    LessOrEqual,
    Equal,
    NotEqual,
    GreaterOrEqual,
    GreaterThan,
    Includes,
    Excludes,
}

/// <summary>An RFC 7047 &lt;mutator&gt;.</summary>
public enum Mutator
{
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    Insert,
    Delete,
}

/// <summary>A &lt;condition&gt;: [column, function, value].</summary>
public sealed record Condition(string Column, ConditionFunction Function, OvsdbDatum Value)
{
    public static string FunctionName(ConditionFunction f) => f switch
    {
        ConditionFunction.LessThan => "<",
        ConditionFunction.LessOrEqual => "<=",
        ConditionFunction.Equal => "==",
        ConditionFunction.NotEqual => "!=",
        ConditionFunction.GreaterOrEqual => ">=",
        ConditionFunction.GreaterThan => ">",
        ConditionFunction.Includes => "includes",
        _ => "excludes",
    };

    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartArray();
        w.WriteStringValue(Column);
        w.WriteStringValue(FunctionName(Function));
        Value.WriteTo(w);
        w.WriteEndArray();
    }

    internal void Validate(TableSchema table)
    {
        var where = $"condition on {table.Name}.{Column}";
        var column = table.GetColumn(Column);
        column.Type.ValidateElements(Value, where, allowKeySetForMap: false);
        if (Function is ConditionFunction.LessThan or ConditionFunction.LessOrEqual or ConditionFunction.GreaterOrEqual or ConditionFunction.GreaterThan)
        {
            if (!column.Type.IsScalar && !column.Type.IsOptional || column.Type.Key.Kind is not (AtomKind.Integer or AtomKind.Real))
            {
                throw new OvsdbSchemaException($"{where}: \"{FunctionName(Function)}\" needs an integer or real column");
            }
        }
    }
}

/// <summary>A &lt;mutation&gt;: [column, mutator, value].</summary>
public sealed record Mutation(string Column, Mutator Mutator, OvsdbDatum Value)
{
    public static string MutatorName(Mutator m) => m switch
    {
        Mutator.Add => "+=",
        Mutator.Subtract => "-=",
        Mutator.Multiply => "*=",
        Mutator.Divide => "/=",
        Mutator.Modulo => "%=",
        Mutator.Insert => "insert",
        _ => "delete",
    };

    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartArray();
        w.WriteStringValue(Column);
        w.WriteStringValue(MutatorName(Mutator));
        Value.WriteTo(w);
        w.WriteEndArray();
    }

    internal void Validate(TableSchema table)
    {
        var where = $"mutation of {table.Name}.{Column}";
        var column = table.GetColumn(Column);
        if (!column.Mutable || Column.StartsWith('_'))
        {
            throw new OvsdbSchemaException($"{where}: column is not mutable");
        }

        if (Mutator is Mutator.Insert or Mutator.Delete)
        {
            if (column.Type.IsScalar)
            {
                throw new OvsdbSchemaException($"{where}: \"{MutatorName(Mutator)}\" needs a set or map column");
            }

            column.Type.ValidateElements(Value, where, allowKeySetForMap: Mutator == Mutator.Delete);
            if (column.Type.IsMap && !Value.IsMap && !Value.IsEmpty)
            {
                // Deleting from a map by key: the value is a set of keys.
                foreach (var k in Value.Keys)
                {
                    column.Type.Key.Validate(k, where);
                }
            }

            return;
        }

        if (column.Type.IsMap || column.Type.Key.Kind is not (AtomKind.Integer or AtomKind.Real))
        {
            throw new OvsdbSchemaException($"{where}: \"{MutatorName(Mutator)}\" needs an integer or real column");
        }

        if (Mutator == Mutator.Modulo && column.Type.Key.Kind != AtomKind.Integer)
        {
            throw new OvsdbSchemaException($"{where}: \"%=\" needs an integer column");
        }

        if (Value.Count != 1)
        {
            throw new OvsdbSchemaException($"{where}: arithmetic needs a single atom");
        }

        // Range constraints apply to the result, which the server checks; only the type is checked here.
        var atom = Value.Single;
        if (atom.Kind != column.Type.Key.Kind && !(column.Type.Key.Kind == AtomKind.Real && atom.Kind == AtomKind.Integer))
        {
            throw new OvsdbSchemaException($"{where}: expected {BaseType.Name(column.Type.Key.Kind)}, got {BaseType.Name(atom.Kind)}");
        }
    }
}

/// <summary>One element of a "transact" request.</summary>
public abstract class Operation
{
    /// <summary>The "op" member.</summary>
    public abstract string Op { get; }

    /// <summary>The table the operation works on, if any.</summary>
    public virtual string? Table => null;

    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("op"u8, Op);
        if (Table is { } t)
        {
            w.WriteString("table"u8, t);
        }

        WriteMembers(w);
        w.WriteEndObject();
    }

    protected abstract void WriteMembers(Utf8JsonWriter w);

    /// <summary>Throws <see cref="OvsdbSchemaException"/> when the operation cannot be valid for this schema.</summary>
    public abstract void Validate(DatabaseSchema schema);

    protected static void WriteWhere(Utf8JsonWriter w, IReadOnlyList<Condition> where)
    {
        w.WritePropertyName("where"u8);
        w.WriteStartArray();
        foreach (var c in where)
        {
            c.WriteTo(w);
        }

        w.WriteEndArray();
    }

    protected static void WriteColumns(Utf8JsonWriter w, IReadOnlyList<string> columns)
    {
        w.WritePropertyName("columns"u8);
        w.WriteStartArray();
        foreach (var c in columns)
        {
            w.WriteStringValue(c);
        }

        w.WriteEndArray();
    }

    protected static void ValidateRow(TableSchema table, IReadOnlyDictionary<string, OvsdbDatum> row, bool isUpdate)
    {
        foreach (var (name, value) in row)
        {
            var column = table.GetColumn(name);
            if (name.StartsWith('_'))
            {
                throw new OvsdbSchemaException($"{table.Name}.{name} cannot be written");
            }

            if (isUpdate && !column.Mutable)
            {
                throw new OvsdbSchemaException($"{table.Name}.{name} is not mutable");
            }

            column.Type.Validate(value, $"{table.Name}.{name}");
        }
    }

    protected static void ValidateWhere(TableSchema table, IReadOnlyList<Condition> where)
    {
        foreach (var c in where)
        {
            c.Validate(table);
        }
    }

    protected static void ValidateColumns(TableSchema table, IReadOnlyList<string>? columns)
    {
        foreach (var c in columns ?? [])
        {
            table.GetColumn(c);
        }
    }
}

/// <summary>Base of operations that work on the rows of one table selected by "where".</summary>
public abstract class TableOperation<TSelf> : Operation
    where TSelf : TableOperation<TSelf>
{
    private readonly List<Condition> _where = [];

    protected TableOperation(string table)
    {
        TableName = table;
    }

    public string TableName { get; }

    public override string? Table => TableName;

    public IReadOnlyList<Condition> Conditions => _where;

    public TSelf Where(string column, ConditionFunction function, OvsdbDatum value)
    {
        _where.Add(new Condition(column, function, value));
        return (TSelf)this;
    }

    /// <summary>Shorthand for an "==" condition.</summary>
    public TSelf Where(string column, OvsdbDatum value) => Where(column, ConditionFunction.Equal, value);

    public TSelf WhereUuid(Guid uuid) => Where("_uuid", ConditionFunction.Equal, uuid);
}

/// <summary>RFC 7047 section 5.2.1 "insert": a new row with the given column values, optionally named ("uuid-name") for later operations of the transaction.</summary>
public sealed class InsertOperation : Operation
{
    private readonly ColumnValueDictionary _row = new();

    public InsertOperation(string table, string? uuidName = null)
    {
        TableName = table;
        UuidName = uuidName;
    }

    public string TableName { get; }

    public override string? Table => TableName;

    public override string Op => "insert";

    /// <summary>The "uuid-name" that later operations can refer to with <see cref="OvsdbAtom.NamedUuid"/>.</summary>
    public string? UuidName { get; }

    public IReadOnlyDictionary<string, OvsdbDatum> Row => _row;

    public InsertOperation Set(string column, OvsdbDatum value)
    {
        _row.Set(column, value);
        return this;
    }

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        _row.WriteTo(w);
        if (UuidName is not null)
        {
            w.WriteString("uuid-name"u8, UuidName);
        }
    }

    public override void Validate(DatabaseSchema schema)
    {
        var table = schema.GetTable(TableName);
        ValidateRow(table, _row, isUpdate: false);
        foreach (var column in table.UserColumns)
        {
            // Omitted columns get the type's default value, which satisfies min 0 but not min 1 for references.
            if (!_row.ContainsKey(column.Name) && column.Type.Min == 1 && column.Type.Key.RefTable is not null && column.Type.Key.RefType == "strong")
            {
                throw new OvsdbSchemaException($"{TableName}.{column.Name} is a required reference and must be set on insert");
            }
        }

        if (UuidName is not null && (UuidName.Length == 0 || !(char.IsAsciiLetter(UuidName[0]) || UuidName[0] == '_') || !UuidName.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')))
        {
            throw new OvsdbSchemaException($"\"{UuidName}\" is not a valid uuid-name (an <id>)");
        }
    }
}

/// <summary>RFC 7047 section 5.2.2 "select": the rows matching the conditions, optionally only some columns.</summary>
public sealed class SelectOperation(string table) : TableOperation<SelectOperation>(table)
{
    public override string Op => "select";

    public IReadOnlyList<string>? SelectedColumns { get; private set; }

    public SelectOperation Columns(params string[] columns)
    {
        SelectedColumns = columns;
        return this;
    }

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        WriteWhere(w, Conditions);
        if (SelectedColumns is not null)
        {
            WriteColumns(w, SelectedColumns);
        }
    }

    public override void Validate(DatabaseSchema schema)
    {
        var table = schema.GetTable(TableName);
        ValidateWhere(table, Conditions);
        ValidateColumns(table, SelectedColumns);
    }
}

/// <summary>RFC 7047 section 5.2.3 "update": sets columns of the rows matching the conditions.</summary>
public sealed class UpdateOperation(string table) : TableOperation<UpdateOperation>(table)
{
    private readonly ColumnValueDictionary _row = new();

    public override string Op => "update";

    public IReadOnlyDictionary<string, OvsdbDatum> Row => _row;

    public UpdateOperation Set(string column, OvsdbDatum value)
    {
        _row.Set(column, value);
        return this;
    }

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        WriteWhere(w, Conditions);
        _row.WriteTo(w);
    }

    public override void Validate(DatabaseSchema schema)
    {
        var table = schema.GetTable(TableName);
        ValidateWhere(table, Conditions);
        ValidateRow(table, _row, isUpdate: true);
    }
}

/// <summary>RFC 7047 section 5.2.4 "mutate": applies mutations (add, remove, insert into sets and maps, ...) to the rows matching the conditions.</summary>
public sealed class MutateOperation(string table) : TableOperation<MutateOperation>(table)
{
    private readonly List<Mutation> _mutations = [];

    public override string Op => "mutate";

    public IReadOnlyList<Mutation> Mutations => _mutations;

    public MutateOperation Mutate(string column, Mutator mutator, OvsdbDatum value)
    {
        _mutations.Add(new Mutation(column, mutator, value));
        return this;
    }

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        WriteWhere(w, Conditions);
        w.WritePropertyName("mutations"u8);
        w.WriteStartArray();
        foreach (var m in _mutations)
        {
            m.WriteTo(w);
        }

        w.WriteEndArray();
    }

    public override void Validate(DatabaseSchema schema)
    {
        var table = schema.GetTable(TableName);
        ValidateWhere(table, Conditions);
        foreach (var m in _mutations)
        {
            m.Validate(table);
        }
    }
}

/// <summary>RFC 7047 section 5.2.5 "delete": deletes the rows matching the conditions.</summary>
public sealed class DeleteOperation(string table) : TableOperation<DeleteOperation>(table)
{
    public override string Op => "delete";

    protected override void WriteMembers(Utf8JsonWriter w) => WriteWhere(w, Conditions);

    public override void Validate(DatabaseSchema schema) => ValidateWhere(schema.GetTable(TableName), Conditions);
}

/// <summary>"wait": blocks the transaction until the selected rows are (or are not) equal to <see cref="Rows"/>.</summary>
public sealed class WaitOperation(string table) : TableOperation<WaitOperation>(table)
{
    private readonly List<IReadOnlyDictionary<string, OvsdbDatum>> _rows = [];

    public override string Op => "wait";

    public IReadOnlyList<string> WaitColumns { get; private set; } = [];

    /// <summary>True for "until": "==", false for "!=".</summary>
    public bool UntilEqual { get; private set; } = true;

    /// <summary>Milliseconds; null waits forever.</summary>
    public long? TimeoutMs { get; private set; }

    public IReadOnlyList<IReadOnlyDictionary<string, OvsdbDatum>> Rows => _rows;

    public WaitOperation Columns(params string[] columns)
    {
        WaitColumns = columns;
        return this;
    }

    public WaitOperation Until(bool equal)
    {
        UntilEqual = equal;
        return this;
    }

    public WaitOperation Timeout(long milliseconds)
    {
        TimeoutMs = milliseconds;
        return this;
    }

    public WaitOperation Row(IReadOnlyDictionary<string, OvsdbDatum> row)
    {
        _rows.Add(row);
        return this;
    }

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        WriteWhere(w, Conditions);
        WriteColumns(w, WaitColumns);
        w.WriteString("until"u8, UntilEqual ? "==" : "!=");
        w.WritePropertyName("rows"u8);
        w.WriteStartArray();
        foreach (var row in _rows)
        {
            w.WriteStartObject();
            foreach (var (name, value) in row)
            {
                w.WritePropertyName(name);
                value.WriteTo(w);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (TimeoutMs is { } t)
        {
            w.WriteNumber("timeout"u8, t);
        }
    }

    public override void Validate(DatabaseSchema schema)
    {
        var table = schema.GetTable(TableName);
        ValidateWhere(table, Conditions);
        ValidateColumns(table, WaitColumns);
        foreach (var row in _rows)
        {
            foreach (var (name, value) in row)
            {
                if (!WaitColumns.Contains(name))
                {
                    throw new OvsdbSchemaException($"wait on {TableName}: row column \"{name}\" is not in \"columns\"");
                }

                table.GetColumn(name).Type.Validate(value, $"{TableName}.{name}");
            }
        }
    }
}

/// <summary>RFC 7047 section 5.2.7 "commit": with durable, the server makes the transaction durable before replying.</summary>
public sealed class CommitOperation(bool durable) : Operation
{
    public override string Op => "commit";

    public bool Durable { get; } = durable;

    protected override void WriteMembers(Utf8JsonWriter w) => w.WriteBoolean("durable"u8, Durable);

    public override void Validate(DatabaseSchema schema)
    {
    }
}

/// <summary>RFC 7047 section 5.2.8 "abort": the transaction fails here, undoing everything.</summary>
public sealed class AbortOperation : Operation
{
    public override string Op => "abort";

    protected override void WriteMembers(Utf8JsonWriter w)
    {
    }

    public override void Validate(DatabaseSchema schema)
    {
    }
}

/// <summary>RFC 7047 section 5.2.9 "comment": a note the server may log with the transaction.</summary>
public sealed class CommentOperation(string comment) : Operation
{
    public override string Op => "comment";

    public string Comment { get; } = comment;

    protected override void WriteMembers(Utf8JsonWriter w) => w.WriteString("comment"u8, Comment);

    public override void Validate(DatabaseSchema schema)
    {
    }
}

/// <summary>"assert": the transaction aborts with "not owner" unless this client owns the lock.</summary>
public sealed class AssertOperation(string lockName) : Operation
{
    public override string Op => "assert";

    public string Lock { get; } = lockName;

    protected override void WriteMembers(Utf8JsonWriter w) => w.WriteString("lock"u8, Lock);

    public override void Validate(DatabaseSchema schema)
    {
        if (string.IsNullOrEmpty(Lock))
        {
            throw new OvsdbSchemaException("assert needs a lock name");
        }
    }
}

/// <summary>Entry points of the typed operation builder.</summary>
public static class Op
{
    public static InsertOperation Insert(string table, string? uuidName = null) => new(table, uuidName);

    public static SelectOperation Select(string table) => new(table);

    public static UpdateOperation Update(string table) => new(table);

    public static MutateOperation Mutate(string table) => new(table);

    public static DeleteOperation Delete(string table) => new(table);

    public static WaitOperation Wait(string table) => new(table);

    public static CommitOperation Commit(bool durable = false) => new(durable);

    public static AbortOperation Abort() => new();

    public static CommentOperation Comment(string comment) => new(comment);

    public static AssertOperation Assert(string lockName) => new(lockName);
}
