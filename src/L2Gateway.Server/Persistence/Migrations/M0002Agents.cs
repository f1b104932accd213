using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace L2Gateway.Server.Persistence.Migrations;

/// <summary>Agents, what they report of each switch's convergence, and the MACs switches learned.</summary>
[DbContext(typeof(L2GatewayDbContext))]
[Migration("20261126000002_Agents")]
public sealed class M0002Agents : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.AddColumn<string>("AppliedRevision", "switches", nullable: true);
        migrationBuilder.AddColumn<bool>("Connected", "switches", nullable: false, defaultValue: false);
        migrationBuilder.AddColumn<string>("LastError", "switches", nullable: false, defaultValue: "");

        migrationBuilder.CreateTable(
            name: "agents",
            columns: t => new
            {
                Id = t.Column<string>(nullable: false),
                Host = t.Column<string>(nullable: false),
                StartedAt = t.Column<long>(nullable: false),
                HeartbeatAt = t.Column<long>(nullable: false),
                ConfigurationsJson = t.Column<string>(nullable: false),
            },
            constraints: t => t.PrimaryKey("PK_agents", x => x.Id));
        migrationBuilder.CreateIndex("IX_agents_Host", "agents", "Host", unique: true);

        migrationBuilder.CreateTable(
            name: "local_macs",
            columns: t => new
            {
                Switch = t.Column<string>(nullable: false),
                LogicalSwitch = t.Column<string>(nullable: false),
                Mac = t.Column<string>(nullable: false),
                IpAddress = t.Column<string>(nullable: false),
                TunnelIp = t.Column<string>(nullable: false),
            },
            constraints: t => t.PrimaryKey("PK_local_macs", x => new { x.Switch, x.LogicalSwitch, x.Mac }));
        migrationBuilder.CreateIndex("IX_local_macs_LogicalSwitch", "local_macs", "LogicalSwitch");
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.DropTable("local_macs");
        migrationBuilder.DropTable("agents");
        migrationBuilder.DropColumn("LastError", "switches");
        migrationBuilder.DropColumn("Connected", "switches");
        migrationBuilder.DropColumn("AppliedRevision", "switches");
    }
}
