using System.Buffers;
using System.Text;
using System.Text.Json;
using CsCheck;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Schema;

namespace L2Gateway.Ovsdb.Tests;

public class ValueModelTests
{
    private static readonly Gen<OvsdbAtom> GenAtom = Gen.OneOf(
        Gen.Long.Select(OvsdbAtom.Integer),
        Gen.Double.Where(d => double.IsFinite(d) && d != Math.Floor(d)).Select(OvsdbAtom.Real),
        Gen.Bool.Select(OvsdbAtom.Boolean),
        Gen.String.Select(OvsdbAtom.String),
        Gen.Guid.Select(OvsdbAtom.Uuid),
        Gen.Int[0, 1000].Select(i => OvsdbAtom.NamedUuid($"row{i}")));

    private static readonly Gen<OvsdbAtom> GenKey = Gen.OneOf(Gen.Int[0, 20].Select(i => OvsdbAtom.String($"k{i}")), Gen.Int[0, 20].Select(i => OvsdbAtom.Integer(i)));

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, Protocol.JsonRpcWriter.WriterOptions))
        {
            write(w);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void Wire_encoding_follows_rfc7047()
    {
        var u = Guid.Parse("0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c");
        Assert.Equal("\"x\"", Json(OvsdbDatum.Scalar("x").WriteTo));
        Assert.Equal("[\"uuid\",\"0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c\"]", Json(OvsdbDatum.Scalar(u).WriteTo));
        Assert.Equal("[\"named-uuid\",\"ls\"]", Json(OvsdbDatum.Scalar(OvsdbAtom.NamedUuid("ls")).WriteTo));
        Assert.Equal("[\"set\",[]]", Json(OvsdbDatum.EmptySet.WriteTo));
        Assert.Equal("[\"set\",[1,2]]", Json(OvsdbDatum.Set(2, 1, 2).WriteTo));
        Assert.Equal("[\"map\",[[\"a\",\"1\"],[\"b\",\"2\"]]]", Json(OvsdbDatum.Map(("b", "2"), ("a", "1")).WriteTo));
        Assert.Equal(
            "{\"op\":\"mutate\",\"table\":\"Logical_Switch\",\"where\":[[\"name\",\"==\",\"ls\"],[\"tunnel_key\",\"<\",5]],\"mutations\":[[\"other_config\",\"insert\",[\"map\",[[\"k\",\"v\"]]]],[\"tunnel_key\",\"+=\",1]]}",
            Json(Op.Mutate("Logical_Switch").Where("name", "ls").Where("tunnel_key", ConditionFunction.LessThan, 5)
                .Mutate("other_config", Mutator.Insert, OvsdbDatum.Map(("k", "v"))).Mutate("tunnel_key", Mutator.Add, 1).WriteTo));
        Assert.Equal(
            "{\"op\":\"insert\",\"table\":\"Logical_Switch\",\"row\":{\"name\":\"ls\"},\"uuid-name\":\"ls1\"}",
            Json(Op.Insert("Logical_Switch", "ls1").Set("name", "ls").WriteTo));
    }

    [Fact]
    public void Datum_json_round_trips()
    {
        var genSet = GenAtom.Array[0, 6].Select(a => OvsdbDatum.Set(a));
        var genMap = Gen.Select(GenKey, GenAtom).Array[0, 6].Select(p => OvsdbDatum.Map(p.Select(x => KeyValuePair.Create(x.Item1, x.Item2))));
        Gen.OneOf(genSet, genMap).Sample(d =>
        {
            // Keys of one kind per datum, as a schema would require, so the kinds hint is unambiguous.
            var json = Json(d.WriteTo);
            using var doc = JsonDocument.Parse(json);
            var keyKind = d.Keys.Count > 0 ? d.Keys[0].Kind : (AtomKind?)null;
            var valueKind = d.Values.Count > 0 ? d.Values[0].Kind : (AtomKind?)null;
            if (d.Keys.Any(k => k.Kind != keyKind) || d.Values.Any(v => v.Kind != valueKind))
            {
                return;
            }

            var back = OvsdbDatum.Parse(doc.RootElement, keyKind, valueKind);
            Assert.Equal(d, back);
        }, iter: 2000);
    }

    [Theory]
    [InlineData("""["uuid","0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9"]""", "malformed uuid")]
    [InlineData("""["uuid","0d6b1f4e7a7b4d55a6a11e0a7f6f2b9c"]""", "malformed uuid")]
    [InlineData("""["uuid","{0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c}"]""", "malformed uuid")]
    [InlineData("""["uuid",7]""", "not an OVSDB atom")]
    [InlineData("""["set",[["uuid","x"]]]""", "malformed uuid")]
    [InlineData("""["map",[["a"]]]""", "pairs")]
    [InlineData("""["set",{}]""", "array")]
    public void Malformed_values_raise_OvsdbProtocolException(string json, string message)
    {
        using var doc = JsonDocument.Parse(json);
        var ex = Assert.Throws<OvsdbProtocolException>(() => OvsdbDatum.Parse(doc.RootElement));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Uuids_parse_in_either_case()
    {
        using var doc = JsonDocument.Parse("""["uuid","0D6B1F4E-7A7B-4D55-A6A1-1E0A7F6F2B9C"]""");
        Assert.Equal(Guid.Parse("0d6b1f4e-7a7b-4d55-a6a1-1e0a7f6f2b9c"), OvsdbDatum.Parse(doc.RootElement).Single.AsUuid());
    }

    [Fact]
    public void Applying_an_update2_diff_gives_the_new_value()
    {
        var genSet = Gen.Int[0, 12].Array[0, 8].Select(a => OvsdbDatum.Set(a.Select(i => OvsdbAtom.Integer(i))));
        Gen.Select(genSet, genSet).Sample((oldSet, newSet) =>
        {
            var diff = OvsdbDatum.Set(oldSet.Keys.Except(newSet.Keys).Concat(newSet.Keys.Except(oldSet.Keys)));
            Assert.Equal(newSet, oldSet.ApplyDiff(diff));
        }, iter: 1000);

        var genMap = Gen.Select(Gen.Int[0, 8], Gen.Int[0, 3]).Array[0, 8]
            .Select(p => OvsdbDatum.Map(p.Select(x => KeyValuePair.Create(OvsdbAtom.String($"k{x.Item1}"), OvsdbAtom.String($"v{x.Item2}")))));
        Gen.Select(genMap, genMap).Sample((oldMap, newMap) =>
        {
            // ovsdb-server's diff: removed keys with their old value, added and changed keys with the new value.
            var pairs = new List<KeyValuePair<OvsdbAtom, OvsdbAtom>>();
            foreach (var (k, v) in oldMap.Pairs)
            {
                if (!newMap.TryGetValue(k, out _))
                {
                    pairs.Add(KeyValuePair.Create(k, v));
                }
            }

            foreach (var (k, v) in newMap.Pairs)
            {
                if (!oldMap.TryGetValue(k, out var old) || old != v)
                {
                    pairs.Add(KeyValuePair.Create(k, v));
                }
            }

            Assert.Equal(newMap, oldMap.ApplyDiff(OvsdbDatum.Map(pairs)));
        }, iter: 1000);
    }

    [Theory]
    [InlineData("""{"name":"x","tables":{"T":{"columns":{"c":{"type":"float"}}}}}""", "unknown atomic type")]
    [InlineData("""{"name":"x","tables":{"T":{"columns":{"c":{"type":{"key":"string","min":2}}}}}}""", "\"min\" must be 0 or 1")]
    [InlineData("""{"name":"x","tables":{"T":{"columns":{"c":{"type":{"key":"string","max":0}}}}}}""", "\"max\"")]
    [InlineData("""{"name":"x","tables":{"T":{"columns":{"c":{"type":{"key":{"type":"uuid","refTable":"Nope"}}}}}}}""", "unknown table \"Nope\"")]
    [InlineData("""{"name":"x","tables":{"T":{"columns":{"_c":{"type":"string"}}}}}""", "reserved")]
    [InlineData("""{"tables":{}}""", "\"name\"")]
    [InlineData("""{"name":"x","tables":""", "not valid JSON")]
    public void Malformed_schemas_raise_OvsdbSchemaException(string json, string message)
    {
        var ex = Assert.Throws<OvsdbSchemaException>(() => DatabaseSchema.Parse(json));
        Assert.Contains(message, ex.Message);
    }

    [Fact]
    public void Default_values_follow_the_column_type()
    {
        var schema = DatabaseSchema.Load(OvsdbServer.VtepSchema);
        Assert.Equal(OvsdbDatum.Scalar(""), schema.GetTable("Logical_Switch").GetColumn("name").Type.DefaultValue);
        Assert.Equal(OvsdbDatum.EmptySet, schema.GetTable("Logical_Switch").GetColumn("tunnel_key").Type.DefaultValue);
        Assert.Equal(OvsdbDatum.EmptyMap, schema.GetTable("Logical_Switch").GetColumn("other_config").Type.DefaultValue);
        Assert.Equal(OvsdbDatum.Scalar(false), schema.GetTable("Manager").GetColumn("is_connected").Type.DefaultValue);
    }
}
