namespace L2Gateway.Server;

/// <summary>Settings every host of the service is built with.</summary>
public static class HostSettings
{
    /// <summary>
    /// Host configuration for the builders. The service reads no appsettings.json, yet the default builders watch the
    /// content root (the working directory: /var/lib/l2gw in the packages, where SQLite writes) for one, so every
    /// write of the database woke a file watcher. Turning reload off leaves no watch.
    /// </summary>
    public static IReadOnlyList<string> Args { get; } = ["--hostBuilder:reloadConfigOnChange=false"];
}
