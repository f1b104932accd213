using Microsoft.EntityFrameworkCore;

namespace L2Gateway.Server.Persistence;

public sealed class L2GatewayDbContext(DbContextOptions<L2GatewayDbContext> options) : DbContext(options)
{
    public DbSet<GatewayRow> Gateways => Set<GatewayRow>();

    public DbSet<ConnectionRow> Connections => Set<ConnectionRow>();

    public DbSet<NetworkRow> Networks => Set<NetworkRow>();

    public DbSet<PortRow> Ports => Set<PortRow>();

    public DbSet<HostRow> Hosts => Set<HostRow>();

    public DbSet<SwitchRow> Switches => Set<SwitchRow>();

    public DbSet<AgentRow> Agents => Set<AgentRow>();

    public DbSet<LocalMacRow> LocalMacs => Set<LocalMacRow>();

    public DbSet<NetworkSegmentRow> NetworkSegments => Set<NetworkSegmentRow>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<GatewayRow>(e =>
        {
            e.ToTable("l2_gateways");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.ProjectId);
            e.HasIndex(x => x.Name);
        });
        modelBuilder.Entity<ConnectionRow>(e =>
        {
            e.ToTable("l2_gateway_connections");
            e.HasKey(x => x.Id);
            e.HasIndex(x => new { x.GatewayId, x.NetworkId }).IsUnique();
            e.HasIndex(x => x.NetworkId);
        });
        modelBuilder.Entity<NetworkRow>(e =>
        {
            e.ToTable("networks");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.Name);
        });
        modelBuilder.Entity<PortRow>(e =>
        {
            e.ToTable("ports");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.NetworkId);
            e.HasIndex(x => new { x.NetworkId, x.MacAddress }).IsUnique();
        });
        modelBuilder.Entity<HostRow>(e =>
        {
            e.ToTable("hosts");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.Name).IsUnique();
        });
        modelBuilder.Entity<SwitchRow>(e =>
        {
            e.ToTable("switches");
            e.HasKey(x => x.Name);
        });
        modelBuilder.Entity<AgentRow>(e =>
        {
            e.ToTable("agents");
            e.HasKey(x => x.Id);
            e.HasIndex(x => x.Host).IsUnique();
        });
        modelBuilder.Entity<LocalMacRow>(e =>
        {
            e.ToTable("local_macs");
            e.HasKey(x => new { x.Switch, x.LogicalSwitch, x.Mac });
            e.HasIndex(x => x.LogicalSwitch);
        });
        modelBuilder.Entity<NetworkSegmentRow>(e =>
        {
            e.ToTable("network_segments");
            e.HasKey(x => new { x.NetworkType, x.PhysicalNetwork, x.SegmentationId });
            e.HasIndex(x => x.NetworkId);
            e.HasOne<NetworkRow>().WithMany().HasForeignKey(x => x.NetworkId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}
