using System.Diagnostics;
using L2Gateway.Core;
using L2Gateway.Server;
using L2Gateway.Server.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Scale.Bench;

/// <summary>
/// A catalog written straight into a server's SQLite database through its store (the API's cost is measured
/// elsewhere; 200,000 ports through it would take minutes), by a server hosted in this process that stops before the
/// measured <c>l2gw server</c> process opens the same data directory.
/// </summary>
internal sealed class Seeder
{
    public List<HostRow> Hosts { get; } = [];

    public List<NetworkRow> Networks { get; } = [];

    public List<PortRow> Ports { get; } = [];

    public List<SwitchRow> Switches { get; } = [];

    public List<GatewayRow> Gateways { get; } = [];

    public List<ConnectionRow> Connections { get; } = [];

    public static string Mac(int network, int port) => $"02:{network / 256:x2}:{network % 256:x2}:00:{port / 256:x2}:{port % 256:x2}";

    public void Host(int h) => Hosts.Add(new HostRow { Id = Guid.NewGuid().ToString(), Name = $"host{h}", TunnelIp = $"10.255.{h / 250}.{(h % 250) + 1}" });

    public string Network(int n, int ports, int hosts)
    {
        var id = Guid.NewGuid().ToString();
        Networks.Add(new NetworkRow { Id = id, Name = $"net{n}", ProjectId = "bench", SegmentsJson = Mapping.ToJson(new List<NetworkSegment> { new("vxlan", 10_000 + n) }), CreatedAt = n });
        for (var p = 0; p < ports; p++)
        {
            Ports.Add(new PortRow
            {
                Id = Guid.NewGuid().ToString(),
                Name = $"p{n}-{p}",
                NetworkId = id,
                ProjectId = "bench",
                MacAddress = Mac(n, p),
                FixedIpsJson = Mapping.ToJson(new List<FixedIp> { new(null, $"10.{n % 250}.{p / 256}.{p % 256}") }),
                HostId = $"host{(n + p) % hosts}",
                AllowedAddressPairsJson = "[]",
                CreatedAt = p,
            });
        }

        return id;
    }

    public void Switch(string name, string tunnelIp) => Switches.Add(new SwitchRow
    {
        Name = name,
        TunnelIpsJson = Mapping.ToJson(new List<string> { tunnelIp }),
        FaultStatus = FaultStatus.Up,
        PortsJson = Mapping.ToJson(new List<SwitchPortInventory> { new("p1", FaultStatus.Up) }),
    });

    public string Gateway(string name, string device)
    {
        var id = Guid.NewGuid().ToString();
        Gateways.Add(new GatewayRow
        {
            Id = id,
            Name = name,
            ProjectId = "bench",
            DevicesJson = Mapping.DevicesToJson([new GatewayDevice(Guid.NewGuid().ToString(), device, [new GatewayInterface("p1", [])])]),
        });
        return id;
    }

    public void Connect(string gateway, string network, int vlan) => Connections.Add(new ConnectionRow
    {
        Id = Guid.NewGuid().ToString(),
        GatewayId = gateway,
        NetworkId = network,
        SegmentationId = vlan,
        ProjectId = "bench",
        Status = ConnectionStatus.Active,
    });

    public async Task WriteAsync(string dataDir)
    {
        var t = Stopwatch.GetTimestamp();
        var app = ServerHost.Build(
            new ServerOptions { Bind = "127.0.0.1:0", DataDir = dataDir, QuotaL2Gateway = -1, FullReloadInterval = 3600 },
            b => b.Logging.ClearProviders());
        await ServerHost.StartAsync(app);
        try
        {
            var store = app.Services.GetRequiredService<Store>();
            await store.WriteAsync(db =>
            {
                db.Hosts.AddRange(Hosts);
                db.Networks.AddRange(Networks);
                db.Switches.AddRange(Switches);
                db.Gateways.AddRange(Gateways);
                db.Connections.AddRange(Connections);
                return Task.FromResult(true);
            });
            foreach (var chunk in Ports.Chunk(20_000))
            {
                await store.WriteAsync(db =>
                {
                    db.Ports.AddRange(chunk);
                    return Task.FromResult(true);
                });
            }
        }
        finally
        {
            await app.DisposeAsync();
        }

        Console.WriteLine($"seeded {Networks.Count} networks, {Ports.Count} ports, {Hosts.Count} hosts, {Switches.Count} switches, {Gateways.Count} gateways, {Connections.Count} connections into SQLite in {Stopwatch.GetElapsedTime(t).TotalSeconds:F1} s");
    }
}
