namespace L2Gateway.Agent.Tests;

/// <summary>The agent's INI booleans are read by the same parser as the server's, as oslo.config reads them.</summary>
public class AgentOptionsIniTests
{
    private static AgentOptions WithEnableManager(string value) =>
        AgentOptions.FromIni(new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["ovsdb:enable_manager"] = value });

    [Theory]
    [InlineData("True", true)]
    [InlineData("yes", true)]
    [InlineData("ON", true)]
    [InlineData("1", true)]
    [InlineData("False", false)]
    [InlineData("no", false)]
    [InlineData("Off", false)]
    [InlineData("0", false)]
    [InlineData("", false)]
    public void Enable_manager_accepts_oslo_config_booleans(string value, bool expected) =>
        Assert.Equal(expected, WithEnableManager(value).EnableManager);

    [Theory]
    [InlineData("Ture")]
    [InlineData("enabled")]
    [InlineData("10")]
    public void Enable_manager_refuses_anything_else_naming_the_option(string value)
    {
        var error = Assert.Throws<FormatException>(() => WithEnableManager(value));
        Assert.Contains("ovsdb.enable_manager", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", error.Message, StringComparison.Ordinal);
    }
}
