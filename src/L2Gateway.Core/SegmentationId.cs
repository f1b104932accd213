using System.Globalization;
using System.Text.Json;

namespace L2Gateway.Core;

/// <summary>VLAN ids as clients send them: integers or numeric strings, 0..4094.</summary>
public static class SegmentationId
{
    public const int Max = 4094;

    /// <summary>Parses one VLAN id; throws <see cref="L2GatewayException"/> (400) when it is not one.</summary>
    public static int Parse(JsonElement value)
    {
        int id;
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                if (!value.TryGetInt32(out id))
                {
                    throw NotInteger();
                }

                break;
            case JsonValueKind.String:
                if (!int.TryParse(value.GetString()!.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out id))
                {
                    throw NotInteger();
                }

                break;
            default:
                throw NotInteger();
        }

        if (id < 0 || id > Max)
        {
            throw L2GatewayException.InvalidInput("Segmentation id is out of range");
        }

        return id;
    }

    private static L2GatewayException NotInteger() =>
        L2GatewayException.InvalidInput("Segmentation id must be a valid integer");
}
