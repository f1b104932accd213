using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace L2Gateway.Server.Persistence.Migrations;

/// <summary>
/// Segments as rows keyed by (type, physical network, segmentation id), so that a VNI or VLAN belongs to one network
/// by the database's own constraint. Existing networks' segments are copied in, oldest network first; where
/// concurrent creates had already given two networks one segment, the older network keeps it.
/// </summary>
[DbContext(typeof(L2GatewayDbContext))]
[Migration("20261201000003_NetworkSegments")]
public sealed class M0003NetworkSegments : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.CreateTable(
            name: "network_segments",
            columns: t => new
            {
                NetworkType = t.Column<string>(nullable: false),
                PhysicalNetwork = t.Column<string>(nullable: false),
                SegmentationId = t.Column<int>(nullable: false),
                NetworkId = t.Column<string>(nullable: false),
            },
            constraints: t =>
            {
                t.PrimaryKey("PK_network_segments", x => new { x.NetworkType, x.PhysicalNetwork, x.SegmentationId });
                t.ForeignKey("FK_network_segments_networks_NetworkId", x => x.NetworkId, "networks", "Id", onDelete: ReferentialAction.Cascade);
            });
        migrationBuilder.CreateIndex("IX_network_segments_NetworkId", "network_segments", "NetworkId");

        // The segments' JSON layout is Mapping's (web defaults: camelCase).
        if (migrationBuilder.IsSqlite())
        {
            migrationBuilder.Sql("""
                INSERT OR IGNORE INTO network_segments ("NetworkType", "PhysicalNetwork", "SegmentationId", "NetworkId")
                SELECT json_extract(s.value, '$.networkType'), COALESCE(json_extract(s.value, '$.physicalNetwork'), ''),
                       json_extract(s.value, '$.segmentationId'), n."Id"
                FROM networks n, json_each(n."SegmentsJson") s
                WHERE json_extract(s.value, '$.segmentationId') IS NOT NULL
                ORDER BY n."CreatedAt", n."Id";
                """);
        }
        else
        {
            migrationBuilder.Sql("""
                INSERT INTO network_segments ("NetworkType", "PhysicalNetwork", "SegmentationId", "NetworkId")
                SELECT s->>'networkType', COALESCE(s->>'physicalNetwork', ''), (s->>'segmentationId')::int, n."Id"
                FROM networks n CROSS JOIN LATERAL jsonb_array_elements(n."SegmentsJson"::jsonb) s
                WHERE s->>'segmentationId' IS NOT NULL
                ORDER BY n."CreatedAt", n."Id"
                ON CONFLICT DO NOTHING;
                """);
        }
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        ArgumentNullException.ThrowIfNull(migrationBuilder);
        migrationBuilder.DropTable("network_segments");
    }
}
