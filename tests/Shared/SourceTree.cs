namespace L2Gateway.Testing;

/// <summary>The repository a test or benchmark runs from: the folder above its output that holds L2Gateway.slnx.</summary>
internal static class SourceTree
{
    private static readonly Lazy<string> RootDirectory = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "L2Gateway.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository (L2Gateway.slnx) was not found above " + AppContext.BaseDirectory);
    });

    public static string Root => RootDirectory.Value;

    /// <summary>The repository's <c>./l2gw</c> script: it builds and publishes the service when its sources changed.</summary>
    public static string Launcher => Path.Combine(Root, "l2gw");

    /// <summary>A testbed of <c>../shared/testbed</c> beside the repository: <c>openstack</c>, or the vtep lab's folder.</summary>
    public static string Testbed(string name) => Path.GetFullPath(Path.Combine(Root, "..", "shared", "testbed", name));
}
