using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace L2Gateway.Core.Planning;

/// <summary>
/// A desired-state revision as a number a metric can carry, so that "converged" is a comparison of two series:
/// the first 52 bits of the revision's digest, which a double holds exactly. Equal revisions give equal numbers;
/// the number means nothing else. Zero stands for "no revision".
/// </summary>
public static class RevisionNumber
{
    private const int HexDigits = 13; // 52 bits: a double's mantissa

    private static readonly System.Buffers.SearchValues<char> HexAlphabet = System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    public static double Of(string? revision)
    {
        if (string.IsNullOrEmpty(revision))
        {
            return 0;
        }

        // Revisions are hex digests; anything else is digested first so that it still maps to a stable number.
        var hex = revision.Length >= HexDigits && !revision.AsSpan(0, HexDigits).ContainsAnyExcept(HexAlphabet)
            ? revision[..HexDigits]
            : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(revision)))[..HexDigits];
        var value = long.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        return value == 0 ? 1 : value;
    }
}
