using System.Reflection;

var version = typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
version = version.Split('+')[0];
if (args is ["--version"])
{
    Console.WriteLine($"l2gw {version}");
    return 0;
}

Console.Error.WriteLine("usage: l2gw --version | server | db upgrade");
return 2;
