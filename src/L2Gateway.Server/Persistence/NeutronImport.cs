using L2Gateway.Core;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace L2Gateway.Server.Persistence;

/// <summary>networking-l2gw's rows as its tables in Neutron's database hold them.</summary>
public sealed record ReferenceRows(
    IReadOnlyList<ReferenceRows.GatewayRecord> Gateways,
    IReadOnlyList<ReferenceRows.DeviceRecord> Devices,
    IReadOnlyList<ReferenceRows.InterfaceRecord> Interfaces,
    IReadOnlyList<ReferenceRows.ConnectionRecord> Connections)
{
    public sealed record GatewayRecord(string Id, string? Name, string? ProjectId);

    public sealed record DeviceRecord(string Id, string DeviceName, string GatewayId);

    /// <summary>
    /// One row per (interface, VLAN): an interface with two VLANs is two rows with the same name; one without VLANs
    /// is one row with segmentation id 0 (or null).
    /// </summary>
    public sealed record InterfaceRecord(string Id, string? InterfaceName, int? SegmentationId, string DeviceId);

    public sealed record ConnectionRecord(string Id, string? ProjectId, string? GatewayId, string NetworkId, int? SegmentationId);

    /// <summary>
    /// The gateways and connections these rows describe, in this product's model, ids kept. Interfaces keep the
    /// order the reference stored them in; a connection whose gateway is gone (the reference allows a null
    /// <c>l2_gateway_id</c>) has nothing to connect and is left out.
    /// </summary>
    public (IReadOnlyList<Gateway> Gateways, IReadOnlyList<Connection> Connections, IReadOnlyList<string> Skipped) ToDomain()
    {
        var skipped = new List<string>();
        var interfacesOfDevice = Interfaces.GroupBy(i => i.DeviceId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var devicesOfGateway = Devices.GroupBy(d => d.GatewayId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);

        var gateways = new List<Gateway>();
        foreach (var gateway in Gateways)
        {
            var devices = new List<GatewayDevice>();
            foreach (var device in devicesOfGateway.GetValueOrDefault(gateway.Id) ?? [])
            {
                var interfaces = (interfacesOfDevice.GetValueOrDefault(device.Id) ?? [])
                    .Where(i => i.InterfaceName is { Length: > 0 })
                    .GroupBy(i => i.InterfaceName!, StringComparer.Ordinal)
                    .Select(g => new GatewayInterface(
                        g.Key,
                        [.. g.Where(i => i.SegmentationId is > 0).Select(i => i.SegmentationId!.Value).Distinct().Order()]))
                    .ToList();
                devices.Add(new GatewayDevice(device.Id, device.DeviceName, interfaces));
            }

            gateways.Add(new Gateway(gateway.Id, gateway.Name ?? "", gateway.ProjectId ?? "", devices));
        }

        var known = gateways.Select(g => g.Id).ToHashSet(StringComparer.Ordinal);
        var connections = new List<Connection>();
        foreach (var connection in Connections)
        {
            if (connection.GatewayId is null || !known.Contains(connection.GatewayId))
            {
                skipped.Add($"connection {connection.Id}: its gateway {connection.GatewayId ?? "(none)"} does not exist");
                continue;
            }

            connections.Add(new Connection(
                connection.Id, connection.GatewayId, connection.NetworkId, connection.SegmentationId, connection.ProjectId ?? ""));
        }

        return (gateways, connections, skipped);
    }
}

public sealed record NeutronImportResult(int Gateways, int Connections, int AlreadyPresent, IReadOnlyList<string> Skipped);

/// <summary>
/// <c>l2gw db import-neutron</c>: copies networking-l2gw's gateways, devices, interfaces and connections out of
/// Neutron's database into this product's, keeping their ids, in one transaction. Rows whose id is already stored
/// are left as they are, so an import can be run again after a partial migration.
/// </summary>
public static class NeutronImport
{
    /// <summary>
    /// Reads the reference's tables from the Neutron database at <paramref name="url"/> (PostgreSQL). Devices and
    /// interfaces come in the order they are stored (<c>ctid</c>), which is the order the reference lists them in.
    /// </summary>
    public static async Task<ReferenceRows> ReadAsync(string url, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.StartsWith("mysql", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException(
                "import-neutron reads PostgreSQL Neutron databases only; copy the four l2gateway tables of a MySQL Neutron into a PostgreSQL database first");
        }

        var source = DatabaseSettings.Parse(url);
        if (source.Provider != DatabaseProvider.PostgreSql)
        {
            throw new ArgumentException($"--from must be Neutron's database URL (postgresql://USER:PASS@HOST:PORT/neutron), not '{source.Display}'");
        }

        await using var connection = new NpgsqlConnection(source.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        var gateways = await QueryAsync(
            connection, "SELECT id, name, project_id FROM l2gateways ORDER BY id",
            r => new ReferenceRows.GatewayRecord(r.GetString(0), Text(r, 1), Text(r, 2)), cancellationToken);
        var devices = await QueryAsync(
            connection, "SELECT id, device_name, l2_gateway_id FROM l2gatewaydevices ORDER BY ctid",
            r => new ReferenceRows.DeviceRecord(r.GetString(0), r.GetString(1), r.GetString(2)), cancellationToken);
        var interfaces = await QueryAsync(
            connection, "SELECT id, interface_name, segmentation_id, device_id FROM l2gatewayinterfaces ORDER BY ctid",
            r => new ReferenceRows.InterfaceRecord(r.GetString(0), Text(r, 1), r.IsDBNull(2) ? null : r.GetInt32(2), r.GetString(3)), cancellationToken);
        var connections = await QueryAsync(
            connection, "SELECT id, project_id, l2_gateway_id, network_id, segmentation_id FROM l2gatewayconnections ORDER BY id",
            r => new ReferenceRows.ConnectionRecord(r.GetString(0), Text(r, 1), Text(r, 2), r.GetString(3), r.IsDBNull(4) ? null : r.GetInt32(4)),
            cancellationToken);
        return new ReferenceRows(gateways, devices, interfaces, connections);
    }

    /// <summary>Stores what <paramref name="rows"/> describe, in one write.</summary>
    public static async Task<NeutronImportResult> ImportAsync(Store store, ReferenceRows rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(rows);
        var (gateways, connections, skipped) = rows.ToDomain();
        var now = DateTime.UtcNow.Ticks;
        return await store.WriteAsync(
            async db =>
            {
                var gatewayIds = gateways.Select(g => g.Id).ToList();
                var connectionIds = connections.Select(c => c.Id).ToList();
                var presentGateways = (await db.Gateways.Where(g => gatewayIds.Contains(g.Id)).Select(g => g.Id).ToListAsync(cancellationToken))
                    .ToHashSet(StringComparer.Ordinal);
                var presentConnections = (await db.Connections.Where(c => connectionIds.Contains(c.Id)).Select(c => c.Id).ToListAsync(cancellationToken))
                    .ToHashSet(StringComparer.Ordinal);
                int addedGateways = 0, addedConnections = 0;
                foreach (var gateway in gateways.Where(g => !presentGateways.Contains(g.Id)))
                {
                    db.Gateways.Add(new GatewayRow
                    {
                        Id = gateway.Id,
                        Name = gateway.Name,
                        ProjectId = gateway.ProjectId,
                        DevicesJson = Mapping.DevicesToJson(gateway.Devices),
                        CreatedAt = now,
                    });
                    addedGateways++;
                }

                foreach (var connection in connections.Where(c => !presentConnections.Contains(c.Id)))
                {
                    db.Connections.Add(new ConnectionRow
                    {
                        Id = connection.Id,
                        GatewayId = connection.GatewayId,
                        NetworkId = connection.NetworkId,
                        SegmentationId = connection.SegmentationId,
                        ProjectId = connection.ProjectId,
                        Status = ConnectionStatus.Pending,
                        CreatedAt = now,
                    });
                    addedConnections++;
                }

                return new NeutronImportResult(addedGateways, addedConnections, presentGateways.Count + presentConnections.Count, skipped);
            },
            cancellationToken);
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static async Task<List<T>> QueryAsync<T>(NpgsqlConnection connection, string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var rows = new List<T>();
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(read(reader));
            }

            return rows;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            throw new ArgumentException($"the source database has no networking-l2gw tables ({e.MessageText}): is it Neutron's database, with the l2gw service plugin's migrations applied?");
        }
    }
}
