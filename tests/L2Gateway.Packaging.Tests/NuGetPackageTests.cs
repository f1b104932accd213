using System.IO.Compression;
using System.Xml.Linq;
using L2Gateway.Ovsdb;

namespace L2Gateway.Packaging.Tests;

/// <summary>The OVSDB library's NuGet package: what a consumer sees of it.</summary>
[Collection("packages")]
public sealed class NuGetPackageTests
{
    [Fact]
    public async Task Ovsdb_package_has_its_readme_docs_license_and_repository()
    {
        await Artifacts.BuildAsync("nuget");
        var path = Path.Combine(Artifacts.Directory, $"L2Gateway.Ovsdb.{Artifacts.Version}.nupkg");
        Assert.True(File.Exists(path), $"{path} is missing");
        using var package = ZipFile.OpenRead(path);
        var entries = package.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("lib/net10.0/L2Gateway.Ovsdb.dll", entries);
        Assert.Contains("lib/net10.0/L2Gateway.Ovsdb.xml", entries);
        Assert.Contains("README.md", entries);

        XNamespace ns = "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd";
        XElement metadata;
        using (var nuspec = package.GetEntry("L2Gateway.Ovsdb.nuspec")!.Open())
        {
            var root = XDocument.Load(nuspec).Root!;
            ns = root.Name.Namespace;
            metadata = root.Element(ns + "metadata")!;
        }

        Assert.Equal("L2Gateway.Ovsdb", metadata.Element(ns + "id")!.Value);
        Assert.Equal(Artifacts.Version, metadata.Element(ns + "version")!.Value);
        Assert.Contains("RFC 7047", metadata.Element(ns + "description")!.Value, StringComparison.Ordinal);
        Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
        var license = metadata.Element(ns + "license")!;
        Assert.Equal("expression", license.Attribute("type")!.Value);
        Assert.Equal("Apache-2.0", license.Value);
        var repository = metadata.Element(ns + "repository")!;
        Assert.Equal("git", repository.Attribute("type")!.Value);
        Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")!.Value);
        var dependencies = metadata.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToList();
        Assert.Equal(["Microsoft.Extensions.Logging.Abstractions"], dependencies);

        // Every public type has its documentation in the package.
        using var xml = package.GetEntry("lib/net10.0/L2Gateway.Ovsdb.xml")!.Open();
        var documented = XDocument.Load(xml).Descendants("member").Select(m => m.Attribute("name")!.Value).ToHashSet();
        Assert.DoesNotContain(PublicTypes(), t => !documented.Contains("T:" + t));
    }

    /// <summary>
    /// The library's public types are a promise to its users: this list changes only on purpose (test hooks and
    /// implementation details stay internal, reached by the tests through InternalsVisibleTo).
    /// </summary>
    [Fact]
    public void Ovsdb_public_types_are_the_listed_ones()
    {
        var listed = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "OvsdbPublicTypes.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'));
        Assert.Equal(string.Join('\n', listed), string.Join('\n', PublicTypes()));
    }

    private static IEnumerable<string> PublicTypes() =>
        typeof(OvsdbClient).Assembly.GetExportedTypes().Select(t => t.FullName!.Replace('+', '.')).Order(StringComparer.Ordinal);
}
