using L2Gateway.Ovsdb.Data;

namespace L2Gateway.Ovsdb.Protocol;

/// <summary>
/// Single-uuid values one connection has parsed lately, so that the many rows naming one logical switch or locator
/// share one datum, within a message and across messages, and a value seen before costs no allocation. Bounded: past
/// <see cref="Capacity"/> values it starts over (a datum handed out stays valid; only sharing is lost).
/// Owned by one read loop; not thread-safe.
/// </summary>
internal sealed class UuidDatumCache
{
    /// <summary>How many values it keeps before it starts over.</summary>
    public const int Capacity = 4096;

    private readonly Dictionary<Guid, OvsdbDatum> _datums = [];

    /// <summary>The datum holding just <paramref name="uuid"/>.</summary>
    public OvsdbDatum Get(Guid uuid)
    {
        if (_datums.TryGetValue(uuid, out var datum))
        {
            return datum;
        }

        if (_datums.Count == Capacity)
        {
            _datums.Clear();
        }

        datum = OvsdbDatum.Scalar(OvsdbAtom.Uuid(uuid));
        _datums.Add(uuid, datum);
        return datum;
    }
}
