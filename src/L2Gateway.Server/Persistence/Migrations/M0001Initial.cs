using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace L2Gateway.Server.Persistence.Migrations;

// Written by hand, without provider-specific column types, so that one migration set serves SQLite and
// PostgreSQL alike. Each later schema change is a new class; a shipped one is never edited.
[DbContext(typeof(L2GatewayDbContext))]
[Migration("20261126000001_Initial")]
public sealed class M0001Initial : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.CreateTable(
            name: "l2_gateways",
            columns: t => new
            {
                Id = t.Column<string>(nullable: false),
                Name = t.Column<string>(nullable: false),
                ProjectId = t.Column<string>(nullable: false),
                DevicesJson = t.Column<string>(nullable: false),
                CreatedAt = t.Column<long>(nullable: false),
            },
            constraints: t => t.PrimaryKey("PK_l2_gateways", x => x.Id));
        migrationBuilder.CreateIndex("IX_l2_gateways_ProjectId", "l2_gateways", "ProjectId");
        migrationBuilder.CreateIndex("IX_l2_gateways_Name", "l2_gateways", "Name");

        migrationBuilder.CreateTable(
            name: "l2_gateway_connections",
            columns: t => new
            {
                Id = t.Column<string>(nullable: false),
                GatewayId = t.Column<string>(nullable: false),
                NetworkId = t.Column<string>(nullable: false),
                SegmentationId = t.Column<int>(nullable: true),
                ProjectId = t.Column<string>(nullable: false),
                Status = t.Column<string>(nullable: false),
                StatusReason = t.Column<string>(nullable: true),
                CreatedAt = t.Column<long>(nullable: false),
            },
            constraints: t => t.PrimaryKey("PK_l2_gateway_connections", x => x.Id));
        migrationBuilder.CreateIndex(
            "IX_l2_gateway_connections_GatewayId_NetworkId", "l2_gateway_connections", ["GatewayId", "NetworkId"], unique: true);
        migrationBuilder.CreateIndex("IX_l2_gateway_connections_NetworkId", "l2_gateway_connections", "NetworkId");

        migrationBuilder.CreateTable(
            name: "networks",
            columns: t => new
            {
                Id = t.Column<string>(nullable: false),
                Name = t.Column<string>(nullable: false),
                ProjectId = t.Column<string>(nullable: false),
                SegmentsJson = t.Column<string>(nullable: false),
                AdminStateUp = t.Column<bool>(nullable: false),
                Shared = t.Column<bool>(nullable: false),
                Description = t.Column<string>(nullable: false),
                Mtu = t.Column<int>(nullable: false),
                CreatedAt = t.Column<long>(nullable: false),
            },
            constraints: t => t.PrimaryKey("PK_networks", x => x.Id));
        migrationBuilder.CreateIndex("IX_networks_Name", "networks", "Name");

        migrationBuilder.CreateTable(
            name: "ports",
            columns: t => new
            {
                Id = t.Column<string>(nullable: false),
                Name = t.Column<string>(nullable: false),
                NetworkId = t.Column<string>(nullable: false),
                ProjectId = t.Column<string>(nullable: false),
                MacAddress = t.Column<string>(nullable: false),
                FixedIpsJson = t.Column<string>(nullable: false),
                HostId = t.Column<string>(nullable: true),
                AllowedAddressPairsJson = t.Column<string>(nullable: false),
                DeviceOwner = t.Column<string>(nullable: false),
                DeviceId = t.Column<string>(nullable: false),
                AdminStateUp = t.Column<bool>(nullable: false),
                Description = t.Column<string>(nullable: false),
                CreatedAt = t.Column<long>(nullable: false),
            },
            constraints: t => t.PrimaryKey("PK_ports", x => x.Id));
        migrationBuilder.CreateIndex("IX_ports_NetworkId", "ports", "NetworkId");
        migrationBuilder.CreateIndex("IX_ports_NetworkId_MacAddress", "ports", ["NetworkId", "MacAddress"], unique: true);

        migrationBuilder.CreateTable(
            name: "hosts",
            columns: t => new
            {
                Id = t.Column<string>(nullable: false),
                Name = t.Column<string>(nullable: false),
                TunnelIp = t.Column<string>(nullable: false),
                CreatedAt = t.Column<long>(nullable: false),
            },
            constraints: t => t.PrimaryKey("PK_hosts", x => x.Id));
        migrationBuilder.CreateIndex("IX_hosts_Name", "hosts", "Name", unique: true);

        migrationBuilder.CreateTable(
            name: "switches",
            columns: t => new
            {
                Name = t.Column<string>(nullable: false),
                TunnelIpsJson = t.Column<string>(nullable: false),
                FaultStatus = t.Column<string>(nullable: false),
                PortsJson = t.Column<string>(nullable: false),
                Description = t.Column<string>(nullable: false),
                AgentId = t.Column<string>(nullable: true),
                UpdatedAt = t.Column<long>(nullable: false),
            },
            constraints: t => t.PrimaryKey("PK_switches", x => x.Name));
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        foreach (var table in new[] { "switches", "hosts", "ports", "networks", "l2_gateway_connections", "l2_gateways" })
        {
            migrationBuilder.DropTable(table);
        }
    }
}
