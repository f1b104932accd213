namespace L2Gateway.Core;

/// <summary>Option values of the INI files the server and the agent read, as oslo.config reads them.</summary>
public static class IniValues
{
    /// <summary>
    /// oslo.config's boolean: <c>true/false</c>, <c>yes/no</c>, <c>on/off</c>, <c>1/0</c>, in any case. Anything else is
    /// an error naming <paramref name="option"/> (never quietly false: <c>enable_manager = Ture</c> must not start a
    /// different agent).
    /// </summary>
    public static bool ParseBoolean(string option, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Trim().ToLowerInvariant() switch
        {
            "true" or "yes" or "on" or "1" => true,
            "false" or "no" or "off" or "0" => false,
            _ => throw new FormatException($"invalid {option} '{value}': expected a boolean (true/false, yes/no, on/off, 1/0)"),
        };
    }
}
