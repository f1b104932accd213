using System.Globalization;
using System.Security.Cryptography;

namespace L2Gateway.Core;

/// <summary>Ethernet addresses in the one form the switch tables use: lower-case, colon-separated.</summary>
public static class MacAddress
{
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Trim().Split(':', '-');
        if (parts.Length != 6 || parts.Any(p => p.Length != 2 || !byte.TryParse(p, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out _)))
        {
            throw L2GatewayException.InvalidInput($"'{text}' is not a valid MAC address");
        }

        var normalized = string.Join(':', parts).ToLowerInvariant();
        var first = byte.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        if ((first & 1) == 1 || normalized == "00:00:00:00:00:00")
        {
            throw L2GatewayException.InvalidInput($"'{text}' is not a valid unicast MAC address");
        }

        return normalized;
    }

    /// <summary>A random address under OpenStack's base prefix fa:16:3e.</summary>
    public static string Random()
    {
        Span<byte> tail = stackalloc byte[3];
        RandomNumberGenerator.Fill(tail);
        return $"fa:16:3e:{tail[0]:x2}:{tail[1]:x2}:{tail[2]:x2}";
    }
}
