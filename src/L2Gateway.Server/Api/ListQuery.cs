using System.Globalization;
using System.Linq.Expressions;
using System.Reflection;
using L2Gateway.Core;
using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Api;

/// <summary>An API attribute that maps to a stored column, for filters and sorting.</summary>
public sealed record Column(string Attribute, string Property, bool Sortable = true);

/// <summary>
/// Neutron list semantics over one table: <c>?attr=value</c> filters (repeat a key for "any of"),
/// <c>fields</c>, <c>sort_key</c>/<c>sort_dir</c>, and keyset pagination with <c>limit</c>/<c>marker</c>/<c>page_reverse</c>.
/// Everything runs in the database, so a page costs the same however large the table is.
/// </summary>
public sealed class ListQuery
{
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal)
    {
        "fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse",
    };

    private static readonly MethodInfo StringCompare =
        typeof(string).GetMethod(nameof(string.Compare), [typeof(string), typeof(string)])!;

    public Dictionary<string, List<string>> Filters { get; } = new(StringComparer.Ordinal);

    public List<(string Key, bool Ascending)> Sort { get; } = [];

    public HashSet<string>? Fields { get; private set; }

    public int? Limit { get; private set; }

    public string? Marker { get; private set; }

    public bool PageReverse { get; private set; }

    public static ListQuery Parse(IQueryCollection query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var result = new ListQuery();
        foreach (var (key, values) in query)
        {
            if (!Reserved.Contains(key))
            {
                result.Filters[key] = [.. values.Where(v => v is not null).Select(v => v!)];
            }
        }

        result.Fields = ParseFields(query);
        var keys = query["sort_key"];
        var dirs = query["sort_dir"];
        if (dirs.Count > keys.Count)
        {
            throw L2GatewayException.InvalidInput("The number of sort_keys and sort_dirs must be the same");
        }

        for (var i = 0; i < keys.Count; i++)
        {
            var dir = i < dirs.Count ? dirs[i] : "asc";
            if (dir is not ("asc" or "desc"))
            {
                throw L2GatewayException.InvalidInput($"{dir} is invalid value for sort_dir, valid values are 'asc' and 'desc'");
            }

            result.Sort.Add((keys[i]!, dir == "asc"));
        }

        if (query.TryGetValue("limit", out var limit))
        {
            if (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                throw L2GatewayException.InvalidInput($"'{limit}' is not an integer");
            }

            result.Limit = n > 0 ? n : null;
        }

        result.Marker = query["marker"].FirstOrDefault();
        result.PageReverse = query["page_reverse"].FirstOrDefault() is { } reverse
            && reverse.Equals("true", StringComparison.OrdinalIgnoreCase);
        return result;
    }

    public static HashSet<string>? ParseFields(IQueryCollection query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var fields = query["fields"];
        return fields.Count == 0
            ? null
            : new HashSet<string>(fields.SelectMany(f => (f ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries)), StringComparer.Ordinal);
    }

    /// <summary>Runs the query: filters, order, marker and limit; returns the page and whether more rows follow.</summary>
    public async Task<(List<TRow> Rows, bool More)> PageAsync<TRow>(
        IQueryable<TRow> source,
        IReadOnlyList<Column> columns,
        Func<string, IQueryable<TRow>, Task<TRow?>> findMarker,
        CancellationToken cancellationToken,
        string idProperty = "Id")
        where TRow : class
    {
        ArgumentNullException.ThrowIfNull(findMarker);
        var filters = ResolveFilters(typeof(TRow), columns);
        var sort = ResolveSort(typeof(TRow), columns, idProperty);
        var query = source;
        var row = Expression.Parameter(typeof(TRow), "row");
        foreach (var (column, values) in filters)
        {
            var property = Expression.Property(row, column.Property);
            var list = typeof(List<>).MakeGenericType(property.Type);
            var instance = Activator.CreateInstance(list)!;
            foreach (var value in values)
            {
                list.GetMethod("Add")!.Invoke(instance, [value]);
            }

            var contains = Expression.Call(Expression.Constant(instance), list.GetMethod("Contains")!, property);
            query = query.Where(Expression.Lambda<Func<TRow, bool>>(contains, row));
        }

        if (Marker is not null)
        {
            var marker = await findMarker(Marker, source) ?? throw MarkerNotFound();
            query = query.Where(After(row, marker, sort));
        }

        IOrderedQueryable<TRow>? ordered = null;
        foreach (var (column, ascending) in sort)
        {
            ordered = OrderBy(ordered ?? (IQueryable<TRow>)query, row, column.Property, ascending, ordered is not null);
        }

        query = ordered!;
        if (Limit is int limit)
        {
            query = query.Take(limit + 1);
        }

        var rows = await query.ToListAsync(cancellationToken);
        return Finish(rows);
    }

    /// <summary>
    /// The same query over rows held in memory (<see cref="Services.GatewayReadModel"/>), with the same answers and
    /// errors as <see cref="PageAsync"/> gives from the database: filters by equality, strings ordered by ordinal
    /// (SQLite's BINARY collation, PostgreSQL's C), the id as the last key, the marker looked up among the rows the
    /// caller may see. <paramref name="inCreationOrder"/> is every row in the default order (creation time, then id);
    /// a page in that order (or its reverse) walks it from the marker on and stops after the page, any other order
    /// sorts the rows that pass the filters.
    /// </summary>
    public (List<TRow> Rows, bool More) Page<TRow>(
        IReadOnlyList<TRow> inCreationOrder,
        Func<TRow, bool> visible,
        IReadOnlyList<Column> columns,
        Func<string, TRow?> findRow,
        string idProperty = "Id")
        where TRow : class
    {
        ArgumentNullException.ThrowIfNull(inCreationOrder);
        ArgumentNullException.ThrowIfNull(visible);
        ArgumentNullException.ThrowIfNull(findRow);
        var filters = ResolveFilters(typeof(TRow), columns)
            .Select(f => (Get: Getter<TRow>(f.Column.Property), f.Values))
            .ToList();
        var sort = ResolveSort(typeof(TRow), columns, idProperty);
        var keys = sort.Select(s => (Get: Getter<TRow>(s.Column.Property), s.Ascending)).ToList();
        int Compare(TRow a, TRow b)
        {
            foreach (var (get, ascending) in keys)
            {
                var order = CompareValues(get(a), get(b));
                if (order != 0)
                {
                    return ascending ? order : -order;
                }
            }

            return 0;
        }

        bool Passes(TRow candidate)
        {
            if (!visible(candidate))
            {
                return false;
            }

            foreach (var (get, values) in filters)
            {
                var value = get(candidate);
                if (!values.Any(v => Equals(v, value)))
                {
                    return false;
                }
            }

            return true;
        }

        TRow? marker = null;
        if (Marker is not null)
        {
            marker = findRow(Marker) is { } found && visible(found) ? found : throw MarkerNotFound();
        }

        var take = Limit is int limit ? limit + 1 : int.MaxValue;
        var rows = new List<TRow>();
        var defaultOrder = sort.Count == 2 && typeof(TRow).GetProperty("CreatedAt") is not null
            && sort[0].Column.Property == "CreatedAt" && sort[1].Column.Property == idProperty && sort[0].Ascending == sort[1].Ascending;
        if (defaultOrder)
        {
            // Walk the rows already in this order (forwards or backwards) from just past the marker.
            var forward = sort[0].Ascending;
            var count = inCreationOrder.Count;
            var start = marker is null ? (forward ? 0 : count - 1) : FirstAfter(inCreationOrder, marker, Compare, forward);
            for (var i = start; i >= 0 && i < count && rows.Count < take; i += forward ? 1 : -1)
            {
                if (Passes(inCreationOrder[i]))
                {
                    rows.Add(inCreationOrder[i]);
                }
            }
        }
        else
        {
            var passing = inCreationOrder.Where(r => Passes(r) && (marker is null || Compare(r, marker) > 0)).ToList();
            passing.Sort(Compare);
            rows = passing.Count > take ? passing.GetRange(0, take) : passing;
        }

        return Finish(rows);
    }

    private (List<TRow> Rows, bool More) Finish<TRow>(List<TRow> rows)
    {
        var more = Limit is int l && rows.Count > l;
        if (more)
        {
            rows.RemoveAt(rows.Count - 1);
        }

        if (PageReverse)
        {
            rows.Reverse();
        }

        return (rows, more);
    }

    private L2GatewayException MarkerNotFound() => L2GatewayException.NotFound("MarkerNotFound", $"Marker {Marker} could not be found");

    // The filters checked and their values typed, in the order given; an unknown attribute or a bad value is a 400.
    private List<(Column Column, List<object?> Values)> ResolveFilters(Type rowType, IReadOnlyList<Column> columns)
    {
        var byAttribute = columns.ToDictionary(c => c.Attribute, StringComparer.Ordinal);
        var result = new List<(Column, List<object?>)>();
        foreach (var (attribute, values) in Filters)
        {
            if (!byAttribute.TryGetValue(attribute, out var column))
            {
                throw new L2GatewayException(ErrorKind.BadRequest, "InvalidFilter", $"Filter {attribute} is not supported");
            }

            var type = rowType.GetProperty(column.Property)!.PropertyType;
            result.Add((column, [.. values.Select(v => Convert(v, type, attribute))]));
        }

        return result;
    }

    // The order: the keys asked for (or creation time), then the id, which makes it total; reversed for page_reverse.
    private List<(Column Column, bool Ascending)> ResolveSort(Type rowType, IReadOnlyList<Column> columns, string idProperty)
    {
        var byAttribute = columns.ToDictionary(c => c.Attribute, StringComparer.Ordinal);
        var sort = new List<(Column Column, bool Ascending)>();
        foreach (var (key, ascending) in Sort)
        {
            if (!byAttribute.TryGetValue(key, out var column) || !column.Sortable)
            {
                throw L2GatewayException.InvalidInput($"{key} is an invalid attribute for sort_keys");
            }

            sort.Add((column, ascending));
        }

        if (sort.Count == 0 && rowType.GetProperty("CreatedAt") is not null)
        {
            sort.Add((new Column("created_at", "CreatedAt"), true));
        }

        if (!sort.Any(s => s.Column.Property == idProperty))
        {
            // The id makes the order total, which keyset pagination needs.
            sort.Add((new Column("id", idProperty), sort.Count == 0 || sort[^1].Ascending));
        }

        if (PageReverse)
        {
            sort = [.. sort.Select(s => (s.Column, !s.Ascending))];
        }

        return sort;
    }

    // In rows sorted by compare (walked forwards) or by its reverse (walked backwards from the end): the index of the
    // first row strictly after the marker in the walk's direction; past the end (or -1) when there is none.
    private static int FirstAfter<TRow>(IReadOnlyList<TRow> rows, TRow marker, Func<TRow, TRow, int> compare, bool forward)
    {
        // compare holds the walk's direction. Walking forwards the rows beyond the marker (compare > 0) are a suffix
        // of the stored order; walking backwards they are a prefix, and the walk starts at its last row.
        int low = 0, high = rows.Count;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            var beyond = compare(rows[middle], marker) > 0;
            if (beyond == forward)
            {
                high = middle;
            }
            else
            {
                low = middle + 1;
            }
        }

        return forward ? low : low - 1;
    }

    private static int CompareValues(object? a, object? b) => (a, b) switch
    {
        (null, null) => 0,
        (null, _) => -1,
        (_, null) => 1,
        (string x, string y) => string.CompareOrdinal(x, y),
        _ => Comparer<object>.Default.Compare(a, b),
    };

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(Type, string), Func<object, object?>> Getters = new();

    private static Func<TRow, object?> Getter<TRow>(string property)
    {
        var get = Getters.GetOrAdd((typeof(TRow), property), key =>
        {
            var row = Expression.Parameter(typeof(object), "row");
            var body = Expression.Convert(Expression.Property(Expression.Convert(row, key.Item1), key.Item2), typeof(object));
            return Expression.Lambda<Func<object, object?>>(body, row).Compile();
        });
        return r => get(r!);
    }

    // Rows strictly after the marker in the sort order: (k1 > v1) or (k1 = v1 and k2 > v2) or ...
    private static Expression<Func<TRow, bool>> After<TRow>(ParameterExpression row, TRow marker, List<(Column Column, bool Ascending)> sort)
    {
        Expression? any = null;
        Expression equalSoFar = Expression.Constant(true);
        foreach (var (column, ascending) in sort)
        {
            var property = Expression.Property(row, column.Property);
            var value = Expression.Constant(typeof(TRow).GetProperty(column.Property)!.GetValue(marker), property.Type);
            Expression beyond;
            Expression equal = Expression.Equal(property, value);
            if (property.Type == typeof(string))
            {
                var compare = Expression.Call(StringCompare, property, value);
                beyond = ascending ? Expression.GreaterThan(compare, Expression.Constant(0)) : Expression.LessThan(compare, Expression.Constant(0));
            }
            else
            {
                beyond = ascending ? Expression.GreaterThan(property, value) : Expression.LessThan(property, value);
            }

            var term = Expression.AndAlso(equalSoFar, beyond);
            any = any is null ? term : Expression.OrElse(any, term);
            equalSoFar = Expression.AndAlso(equalSoFar, equal);
        }

        return Expression.Lambda<Func<TRow, bool>>(any!, row);
    }

    private static IOrderedQueryable<TRow> OrderBy<TRow>(IQueryable<TRow> query, ParameterExpression row, string property, bool ascending, bool then)
    {
        var key = Expression.Property(row, property);
        var lambda = Expression.Lambda(key, row);
        var name = (then, ascending) switch
        {
            (false, true) => nameof(Queryable.OrderBy),
            (false, false) => nameof(Queryable.OrderByDescending),
            (true, true) => nameof(Queryable.ThenBy),
            (true, false) => nameof(Queryable.ThenByDescending),
        };
        var method = typeof(Queryable).GetMethods().Single(m => m.Name == name && m.GetParameters().Length == 2)
            .MakeGenericMethod(typeof(TRow), key.Type);
        return (IOrderedQueryable<TRow>)method.Invoke(null, [query, lambda])!;
    }

    private static object? Convert(string value, Type type, string attribute)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target == typeof(string))
        {
            return value;
        }

        if (Nullable.GetUnderlyingType(type) is not null && value.Length == 0)
        {
            return null;
        }

        if (target == typeof(int) && int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i))
        {
            return i;
        }

        if (target == typeof(long) && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
        {
            return l;
        }

        if (target == typeof(bool) && bool.TryParse(value, out var b))
        {
            return b;
        }

        throw L2GatewayException.InvalidInput($"'{value}' is not a valid value for {attribute}");
    }
}
