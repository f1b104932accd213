using System.Text.Json;
using L2Gateway.Core.Planning;
using L2Gateway.Ovsdb.Data;
using L2Gateway.Ovsdb.HardwareVtep;
using L2Gateway.Ovsdb.Operations;
using L2Gateway.Ovsdb.Schema;

namespace L2Gateway.Agent;

/// <summary>
/// The insert of one <c>Ucast_Macs_Remote</c> row, written straight from the desired row. Programming a network
/// makes tens of thousands of these and holds them until they are sent: one small object each, instead of a row
/// dictionary and a datum per value, keeps them cheap to build, to keep through a collection and to write.
/// </summary>
public sealed class UcastRemoteInsert(DesiredUcastRemote desired, UcastRemoteInsert.Reference logicalSwitch, UcastRemoteInsert.Reference locator) : Operation
{
    /// <summary>A reference many rows share (their logical switch, their locator), with its JSON written once.</summary>
    public sealed class Reference(OvsdbDatum value)
    {
        public OvsdbDatum Value { get; } = value;

        internal byte[] Json { get; } = Encode(value);

        private static byte[] Encode(OvsdbDatum value)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                value.WriteTo(w);
            }

            return buffer.ToArray();
        }
    }

    public override string Op => "insert";

    public override string? Table => VtepTables.UcastMacsRemote;

    public DesiredUcastRemote Desired => desired;

    /// <summary>The same insert in the library's general form.</summary>
    public InsertOperation ToInsertOperation() =>
        new InsertOperation(VtepTables.UcastMacsRemote)
            .Set("MAC", desired.Mac)
            .Set("logical_switch", logicalSwitch.Value)
            .Set("locator", locator.Value)
            .Set("ipaddr", desired.IpAddress);

    protected override void WriteMembers(Utf8JsonWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WritePropertyName("row"u8);
        w.WriteStartObject();
        w.WriteString("MAC"u8, desired.Mac);
        w.WritePropertyName("logical_switch"u8);
        w.WriteRawValue(logicalSwitch.Json, skipInputValidation: true);
        w.WritePropertyName("locator"u8);
        w.WriteRawValue(locator.Json, skipInputValidation: true);
        w.WriteString("ipaddr"u8, desired.IpAddress);
        w.WriteEndObject();
    }

    public override void Validate(DatabaseSchema schema) => ToInsertOperation().Validate(schema);
}
