using System.Text.Json;
using System.Text.Json.Nodes;

namespace L2Gateway.Cli;

/// <summary>A REST resource as the client shows it.</summary>
internal sealed record Resource(
    string Singular,
    string Plural,
    string Path,
    string Label,
    (string Key, string Header, bool LongOnly)[] Columns,
    Func<string, JsonNode?, CellKind> KindOf,
    bool ByName = true)
{
    public string Header(string key) => Columns.FirstOrDefault(c => c.Key == key).Header ?? key;
}

internal static class Commands
{
    private static readonly Resource Gateway = new(
        "l2_gateway",
        "l2_gateways",
        "/l2-gateways",
        "L2 Gateway",
        [("id", "ID", false), ("tenant_id", "Tenant", true), ("name", "Name", false), ("devices", "Devices", false)],
        (key, _) => key == "devices" ? CellKind.ListDict : CellKind.Plain);

    private static readonly Resource Connection = new(
        "l2_gateway_connection",
        "l2_gateway_connections",
        "/l2-gateway-connections",
        "L2 Gateway Connection",
        [("id", "ID", false), ("tenant_id", "Tenant", true), ("l2_gateway_id", "L2 GateWay ID", false), ("network_id", "Network ID", false), ("segmentation_id", "Segmentation ID", false)],
        (_, _) => CellKind.Plain,
        ByName: false);

    private static readonly Resource Network = new(
        "network",
        "networks",
        "/networks",
        "network",
        [("id", "ID", false), ("name", "Name", false), ("provider:network_type", "Network Type", false), ("provider:segmentation_id", "Segmentation ID", false),
         ("project_id", "Project", true), ("status", "Status", true), ("shared", "Shared", true)],
        Auto);

    private static readonly Resource Port = new(
        "port",
        "ports",
        "/ports",
        "port",
        [("id", "ID", false), ("name", "Name", false), ("mac_address", "MAC Address", false), ("fixed_ips", "Fixed IP Addresses", false), ("binding:host_id", "Host", false),
         ("network_id", "Network", true), ("status", "Status", true), ("project_id", "Project", true)],
        Auto);

    private static readonly Resource Host = new(
        "host", "hosts", "/hosts", "host", [("id", "ID", false), ("name", "Name", false), ("tunnel_ip", "Tunnel IP", false)], Auto);

    private static readonly Resource Agent = new(
        "agent",
        "agents",
        "/agents",
        "agent",
        [("id", "ID", false), ("agent_type", "Agent Type", false), ("host", "Host", false), ("alive", "Alive", false), ("admin_state_up", "State", false),
         ("heartbeat_timestamp", "Heartbeat", true), ("started_at", "Started At", true), ("configurations", "Configurations", true)],
        Auto,
        ByName: false);

    private static readonly Resource Switch = new(
        "l2_gateway_switch",
        "l2_gateway_switches",
        "/l2-gateway-switches",
        "switch",
        [("name", "Name", false), ("fault_status", "Fault Status", false), ("tunnel_ips", "Tunnel IPs", false), ("ports", "Ports", false),
         ("description", "Description", true), ("agent_id", "Agent", true), ("updated_at", "Updated At", true)],
        Auto,
        ByName: false);

    private static readonly OptionSpec Project = new("--project", "owner's project (name or ID)", "PROJECT");
    private static readonly OptionSpec ProjectDomain = new("--project-domain", "domain the project belongs to (name or ID)", "PROJECT_DOMAIN");
    private static readonly OptionSpec Long = new("--long", "list additional fields in output");
    private static readonly OptionSpec Device = new(
        "--device",
        "device name and interface names of the gateway: name=DEV,interface_names=\"IF1[|VLAN[#VLAN]][;IF2...]\" (repeatable)",
        "name=name,interface_names=INTERFACE-DETAILS",
        Repeatable: true);

    public static readonly CommandSpec[] All = Build();

    private static CellKind Auto(string key, JsonNode? value) => value switch
    {
        JsonArray array when array.Count > 0 && array.All(i => i is JsonObject) => CellKind.ListDict,
        JsonObject => CellKind.Dict,
        _ => CellKind.Plain,
    };

    private static CommandSpec[] Build()
    {
        var list = new List<CommandSpec>
        {
            new(["create"], "Create l2gateway resource", "<GATEWAY-NAME>", 1, 1, OutputKind.Show, [Project, ProjectDomain, Device],
                "l2gw create gw1 --device name=switch1,interface_names=\"eth1|100#200;eth2\"", CreateGateway) { Aliases = ["l2-gateway-create"] },
            new(["list"], "List l2gateway that belongs to a given tenant", "", 0, 0, OutputKind.List, [Project, ProjectDomain, Long],
                "l2gw list -f json", i => ListResource(i, Gateway)) { Aliases = ["l2-gateway-list"] },
            new(["show"], "Show information of a given l2gateway", "<L2_GATEWAY>", 1, 1, OutputKind.Show, [],
                "l2gw show gw1", i => ShowResource(i, Gateway)) { Aliases = ["l2-gateway-show"] },
            new(["update"], "Update a given l2gateway", "<L2_GATEWAY>", 1, 1, OutputKind.Show, [new("--name", "descriptive name for logical gateway", "name"), Device],
                "l2gw update gw1 --name gw1b --device name=switch1,interface_names=\"eth1|300\"", UpdateGateway) { Aliases = ["l2-gateway-update"] },
            new(["delete"], "Delete a given l2gateway", "<L2_GATEWAY> [<L2_GATEWAY> ...]", 1, -1, OutputKind.None, [],
                "l2gw delete gw1 gw2", i => DeleteResources(i, Gateway)) { Aliases = ["l2-gateway-delete"] },
            new(["connection", "create"], "Create l2gateway-connection", "<GATEWAY-NAME/UUID> <NETWORK-NAME/UUID>", 2, 2, OutputKind.Show,
                [new("--default-segmentation-id", "default segmentation-id applied to the interfaces without one", "SEG_ID")],
                "l2gw connection create gw1 net1 --default-segmentation-id 100", CreateConnection) { Aliases = ["l2-gateway-connection-create"] },
            new(["connection", "list"], "List l2gateway-connections", "", 0, 0, OutputKind.List, [Project, ProjectDomain, Long],
                "l2gw connection list -c ID -c Network\\ ID -f value", i => ListResource(i, Connection)) { Aliases = ["l2-gateway-connection-list"] },
            new(["connection", "show"], "Show information of a given l2gateway-connection, with its status", "<L2_GATEWAY_CONNECTION>", 1, 1, OutputKind.Show, [],
                "l2gw connection show 5e1c...", i => ShowResource(i, Connection)) { Aliases = ["l2-gateway-connection-show"] },
            new(["connection", "delete"], "Delete a given l2gateway-connection", "<L2_GATEWAY_CONNECTIONS> [<L2_GATEWAY_CONNECTIONS> ...]", 1, -1, OutputKind.None, [],
                "l2gw connection delete 5e1c...", i => DeleteResources(i, Connection)) { Aliases = ["l2-gateway-connection-delete"] },

            new(["network", "create"], "Create a network of the standalone catalog", "<NAME>", 1, 1, OutputKind.Show,
                [new("--provider-network-type", "network type (default vxlan)", "TYPE"), new("--provider-segment", "segmentation ID (VNI)", "ID"),
                 new("--provider-physical-network", "physical network", "PHYSNET"), new("--description", "description", "TEXT"), Project],
                "l2gw network create net1 --provider-segment 5000", CreateNetwork),
            new(["network", "list"], "List networks", "", 0, 0, OutputKind.List, [Long], "l2gw network list --long", i => ListResource(i, Network)),
            new(["network", "show"], "Show a network", "<NETWORK>", 1, 1, OutputKind.Show, [], "l2gw network show net1", i => ShowResource(i, Network)),
            new(["network", "delete"], "Delete networks", "<NETWORK> [<NETWORK> ...]", 1, -1, OutputKind.None, [], "l2gw network delete net1", i => DeleteResources(i, Network)),
            new(["port", "create"], "Create a port of the standalone catalog", "<NAME>", 1, 1, OutputKind.Show,
                [new("--network", "network (name or ID)", "NETWORK"), new("--mac-address", "MAC address", "MAC"),
                 new("--fixed-ip", "ip-address=IP (repeatable)", "ip-address=IP", Repeatable: true), new("--host", "the hypervisor the port is bound to", "HOST"),
                 new("--device-owner", "device owner", "OWNER"), new("--device-id", "device ID", "ID"), new("--description", "description", "TEXT"), Project],
                "l2gw port create p1 --network net1 --mac-address 02:00:00:00:00:10 --fixed-ip ip-address=192.168.0.10 --host compute1", CreatePort),
            new(["port", "list"], "List ports", "", 0, 0, OutputKind.List, [new("--network", "only the ports of this network", "NETWORK"), Long],
                "l2gw port list --network net1", ListPorts),
            new(["port", "show"], "Show a port", "<PORT>", 1, 1, OutputKind.Show, [], "l2gw port show p1", i => ShowResource(i, Port)),
            new(["port", "delete"], "Delete ports", "<PORT> [<PORT> ...]", 1, -1, OutputKind.None, [], "l2gw port delete p1", i => DeleteResources(i, Port)),
            new(["host", "create"], "Declare a hypervisor and its VTEP IP", "<NAME>", 1, 1, OutputKind.Show, [new("--tunnel-ip", "the host's VTEP IP", "IP")],
                "l2gw host create compute1 --tunnel-ip 192.0.2.11", CreateHost),
            new(["host", "list"], "List hosts", "", 0, 0, OutputKind.List, [Long], "l2gw host list", i => ListResource(i, Host)),
            new(["host", "show"], "Show a host", "<HOST>", 1, 1, OutputKind.Show, [], "l2gw host show compute1", i => ShowResource(i, Host)),
            new(["host", "delete"], "Delete hosts", "<HOST> [<HOST> ...]", 1, -1, OutputKind.None, [], "l2gw host delete compute1", i => DeleteResources(i, Host)),
            new(["agent", "list"], "List L2 gateway agents", "", 0, 0, OutputKind.List, [new("--host", "only the agents of this host", "HOST"), Long],
                "l2gw agent list --long", ListAgents),
            new(["agent", "show"], "Show an agent with its switches", "<AGENT>", 1, 1, OutputKind.Show, [], "l2gw agent show 0b7e...", i => ShowResource(i, Agent)),
            new(["agent", "delete"], "Delete dead agents", "<AGENT> [<AGENT> ...]", 1, -1, OutputKind.None, [], "l2gw agent delete 0b7e...", i => DeleteResources(i, Agent)),
            new(["switch", "list"], "List the switches the agents report", "", 0, 0, OutputKind.List, [Long], "l2gw switch list --long", i => ListResource(i, Switch)),
            new(["switch", "show"], "Show a switch: tunnel IPs, ports and fault status", "<SWITCH>", 1, 1, OutputKind.Show, [], "l2gw switch show switch1", i => ShowResource(i, Switch)),
            new(["fdb"], "Show what a network programs on the switches: flood list and MACs", "<NETWORK>", 1, 1, OutputKind.List, [], "l2gw fdb net1", Fdb),
            new(["completion"], "Print a shell completion script", "bash|zsh", 1, 1, OutputKind.None, [],
                "l2gw completion bash > /etc/bash_completion.d/l2gw", i => Completion.Run(i, All)),
        };
        return [.. list];
    }

    /// <summary>The command named by the first words of <paramref name="words"/> (longest match), and its arguments.</summary>
    public static (CommandSpec? Command, List<string> Remaining) Find(List<string> words)
    {
        foreach (var command in All)
        {
            if (command.Aliases.Contains(words[0]))
            {
                return (command, words[1..]);
            }
        }

        CommandSpec? best = null;
        foreach (var command in All)
        {
            if (command.Path.Length <= words.Count && command.Path.SequenceEqual(words.Take(command.Path.Length)) && (best is null || command.Path.Length > best.Path.Length))
            {
                best = command;
            }
        }

        return best is null ? (null, words) : (best, words[best.Path.Length..]);
    }

    private static int Print(Invocation i, string text)
    {
        i.Out.Write(text);
        return ExitCodes.Ok;
    }

    /// <summary>Show columns: every attribute of the object, named by the resource's headers, sorted by that name.</summary>
    private static int ShowObject(Invocation i, Resource resource, JsonNode? node)
    {
        if (node is not JsonObject obj)
        {
            throw new CliException(ExitCodes.Failure, $"the server answered without a {resource.Singular}");
        }

        // The reference names a gateway's or connection's fields by its list headers; the catalog keeps API names.
        var reference = resource == Gateway || resource == Connection;
        var columns = obj.Select(p => (p.Key, Header: reference ? resource.Header(p.Key) : p.Key)).OrderBy(c => c.Header, StringComparer.Ordinal).ToList();
        var row = columns.Select(c => new Cell(obj[c.Key], resource.KindOf(c.Key, obj[c.Key]))).ToArray();
        return Print(i, Output.One([.. columns.Select(c => c.Header)], row, i.Format));
    }

    private static int ListObjects(Invocation i, Resource resource, JsonNode? items, bool longListing)
    {
        var columns = resource.Columns.Where(c => longListing || !c.LongOnly).ToList();
        var rows = new List<Cell[]>();
        foreach (var item in items as JsonArray ?? [])
        {
            var obj = item as JsonObject ?? [];
            rows.Add([.. columns.Select(c => obj.TryGetPropertyValue(c.Key, out var v) ? new Cell(v, resource.KindOf(c.Key, v)) : new Cell(JsonValue.Create(""), CellKind.Plain))]);
        }

        return Print(i, Output.List([.. columns.Select(c => c.Header)], rows, i.Format));
    }

    private static int ListResource(Invocation i, Resource resource, string query = "")
    {
        if (i.Args.Get("--project") is { } project)
        {
            query += (query.Length == 0 ? "?" : "&") + "tenant_id=" + Uri.EscapeDataString(project);
        }

        var body = i.Api.Get(resource.Path + query);
        // The reference lists gateways and connections in long form always.
        var longListing = i.Args.Has("--long") || resource == Gateway || resource == Connection;
        return ListObjects(i, resource, body?[resource.Plural], longListing);
    }

    private static int ListPorts(Invocation i)
    {
        var query = "";
        if (i.Args.Get("--network") is { } network)
        {
            query = "?network_id=" + Uri.EscapeDataString(Resolve(i.Api, Network, network)["id"]!.GetValue<string>());
        }

        return ListResource(i, Port, query);
    }

    private static int ListAgents(Invocation i) =>
        ListResource(i, Agent, i.Args.Get("--host") is { } host ? "?host=" + Uri.EscapeDataString(host) : "");

    private static int ShowResource(Invocation i, Resource resource) =>
        ShowObject(i, resource, Resolve(i.Api, resource, i.Args.Positionals[0]));

    /// <summary>Finds a resource by ID, then by name; none is not-found, several is an error that lists them.</summary>
    public static JsonObject Resolve(Rest api, Resource resource, string nameOrId)
    {
        var escaped = Uri.EscapeDataString(nameOrId);
        if (!resource.ByName || Guid.TryParse(nameOrId, out _))
        {
            try
            {
                if (api.Get(resource.Path + "/" + escaped)?[resource.Singular] is JsonObject found)
                {
                    return found;
                }
            }
            catch (CliException e) when (e.Code == ExitCodes.NotFound && resource.ByName)
            {
                // Fall through to the name.
            }
            catch (CliException e) when (e.Code == ExitCodes.NotFound)
            {
                throw new CliException(ExitCodes.NotFound, $"Unable to find {resource.Singular} with name or id '{nameOrId}'");
            }
        }

        var matches = (api.Get(resource.Path + "?name=" + escaped)?[resource.Plural] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Where(o => (string?)o["name"] == nameOrId)
            .ToList();
        return matches.Count switch
        {
            0 => throw new CliException(ExitCodes.NotFound, $"Unable to find {resource.Singular} with name or id '{nameOrId}'"),
            1 => matches[0],
            _ => throw new CliException(
                ExitCodes.Conflict,
                $"Multiple {resource.Singular} matches found for name '{nameOrId}', use an ID to be more specific: {string.Join(", ", matches.Select(m => (string?)m["id"]))}"),
        };
    }

    private static string IdOf(JsonObject obj) => (string?)obj["id"] ?? (string?)obj["name"] ?? "";

    private static int DeleteResources(Invocation i, Resource resource)
    {
        var codes = new List<int>();
        foreach (var nameOrId in i.Args.Positionals)
        {
            try
            {
                var id = resource.ByName || Guid.TryParse(nameOrId, out _) ? IdOf(Resolve(i.Api, resource, nameOrId)) : nameOrId;
                i.Api.Delete(resource.Path + "/" + Uri.EscapeDataString(id));
            }
            catch (CliException e) when (e.Code != ExitCodes.Unreachable)
            {
                codes.Add(e.Code);
                i.Err.WriteLine($"Failed to delete {resource.Label} with name or ID '{nameOrId}': {e.Message}");
            }
        }

        if (codes.Count == 0)
        {
            return ExitCodes.Ok;
        }

        throw new CliException(
            codes.Distinct().Count() == 1 ? codes[0] : ExitCodes.Failure,
            $"Failed to delete {codes.Count} of {i.Args.Positionals.Count} {resource.Label}.");
    }

    /// <summary>neutronclient's <c>str2dict</c>: <c>k=v,k2=v2</c>, a comma without <c>=</c> continues the previous value.</summary>
    private static Dictionary<string, string> Str2Dict(string text)
    {
        var pairs = new List<string>();
        foreach (var part in text.Split(','))
        {
            if (part.Contains('=', StringComparison.Ordinal))
            {
                pairs.Add(part);
            }
            else if (pairs.Count == 0)
            {
                throw new CliException(ExitCodes.Usage, $"argument --device: missing value for key '{part}'");
            }
            else
            {
                pairs[^1] += "," + part;
            }
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            result[pair[..eq]] = pair[(eq + 1)..];
        }

        return result;
    }

    /// <summary>The reference's body for <c>--device</c>: interfaces split on ';', VLANs after '|' split on '#'.</summary>
    private static JsonArray Devices(IReadOnlyList<string> specs)
    {
        var devices = new JsonArray();
        var interfaces = new JsonArray();
        foreach (var spec in specs)
        {
            var device = Str2Dict(spec);
            if (device.TryGetValue("interface_names", out var names))
            {
                interfaces = [];
                foreach (var iface in names.Split(';'))
                {
                    var bar = iface.IndexOf('|', StringComparison.Ordinal);
                    if (bar < 0)
                    {
                        interfaces.Add((JsonNode)new JsonObject { ["name"] = iface });
                        continue;
                    }

                    var vlans = iface[(bar + 1)..].Split('|')[0];
                    interfaces.Add((JsonNode)new JsonObject
                    {
                        ["name"] = iface[..bar],
                        ["segmentation_id"] = new JsonArray([.. vlans.Split('#').Select(v => (JsonNode)JsonValue.Create(v))]),
                    });
                }
            }

            var body = new JsonObject();
            if (device.TryGetValue("name", out var name))
            {
                body["device_name"] = name;
            }

            body["interfaces"] = interfaces.DeepClone();
            devices.Add((JsonNode)body);
        }

        return devices;
    }

    private static int CreateGateway(Invocation i)
    {
        var gateway = new JsonObject { ["name"] = i.Args.Positionals[0], ["devices"] = Devices(i.Args.All("--device")) };
        if (i.Args.Get("--project") is { } project)
        {
            gateway["tenant_id"] = project;
        }

        var created = i.Api.Post(Gateway.Path, new JsonObject { ["l2_gateway"] = gateway });
        return ShowObject(i, Gateway, created?["l2_gateway"]);
    }

    private static int UpdateGateway(Invocation i)
    {
        var id = IdOf(Resolve(i.Api, Gateway, i.Args.Positionals[0]));
        var name = i.Args.Get("--name");
        var gateway = new JsonObject();
        if (i.Args.All("--device").Count > 0)
        {
            if (name is not null)
            {
                gateway["name"] = name;
            }

            gateway["devices"] = Devices(i.Args.All("--device"));
        }
        else
        {
            gateway["name"] = name;
        }

        var updated = i.Api.Put(Gateway.Path + "/" + Uri.EscapeDataString(id), new JsonObject { ["l2_gateway"] = gateway });
        return ShowObject(i, Gateway, updated?["l2_gateway"]);
    }

    private static int CreateConnection(Invocation i)
    {
        var gatewayId = IdOf(Resolve(i.Api, Gateway, i.Args.Positionals[0]));
        var networkId = IdOf(Resolve(i.Api, Network, i.Args.Positionals[1]));
        var connection = new JsonObject { ["l2_gateway_id"] = gatewayId, ["network_id"] = networkId };
        if (i.Args.Get("--default-segmentation-id") is { Length: > 0 } vlan)
        {
            connection["segmentation_id"] = vlan;
        }

        var created = i.Api.Post(Connection.Path, new JsonObject { ["l2_gateway_connection"] = connection });
        return ShowObject(i, Connection, created?["l2_gateway_connection"]);
    }

    private static int CreateNetwork(Invocation i)
    {
        var network = new JsonObject { ["name"] = i.Args.Positionals[0] };
        var type = i.Args.Get("--provider-network-type") ?? (i.Args.Has("--provider-segment") ? "vxlan" : null);
        if (type is not null)
        {
            network["provider:network_type"] = type;
        }

        if (i.Args.Get("--provider-segment") is { } segment)
        {
            network["provider:segmentation_id"] = int.TryParse(segment, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
                ? n
                : throw new CliException(ExitCodes.Usage, $"argument --provider-segment: invalid int value: '{segment}'");
        }

        CopyOption(i, network, "--provider-physical-network", "provider:physical_network");
        CopyOption(i, network, "--description", "description");
        CopyOption(i, network, "--project", "project_id");
        return ShowObject(i, Network, i.Api.Post(Network.Path, new JsonObject { ["network"] = network })?["network"]);
    }

    private static int CreatePort(Invocation i)
    {
        var networkName = i.Args.Get("--network") ?? throw ArgParser.Usage(Find(["port", "create"]).Command!, "the following arguments are required: --network");
        var port = new JsonObject { ["name"] = i.Args.Positionals[0], ["network_id"] = IdOf(Resolve(i.Api, Network, networkName)) };
        CopyOption(i, port, "--mac-address", "mac_address");
        CopyOption(i, port, "--host", "binding:host_id");
        CopyOption(i, port, "--device-owner", "device_owner");
        CopyOption(i, port, "--device-id", "device_id");
        CopyOption(i, port, "--description", "description");
        CopyOption(i, port, "--project", "project_id");
        if (i.Args.All("--fixed-ip").Count > 0)
        {
            var ips = new JsonArray();
            foreach (var spec in i.Args.All("--fixed-ip"))
            {
                var fields = Str2Dict(spec);
                var ip = new JsonObject();
                if (fields.TryGetValue("ip-address", out var address))
                {
                    ip["ip_address"] = address;
                }

                if (fields.TryGetValue("subnet", out var subnet))
                {
                    ip["subnet_id"] = subnet;
                }

                ips.Add((JsonNode)ip);
            }

            port["fixed_ips"] = ips;
        }

        return ShowObject(i, Port, i.Api.Post(Port.Path, new JsonObject { ["port"] = port })?["port"]);
    }

    private static int CreateHost(Invocation i)
    {
        var host = new JsonObject { ["name"] = i.Args.Positionals[0] };
        CopyOption(i, host, "--tunnel-ip", "tunnel_ip");
        return ShowObject(i, Host, i.Api.Post(Host.Path, new JsonObject { ["host"] = host })?["host"]);
    }

    private static void CopyOption(Invocation i, JsonObject body, string option, string key)
    {
        if (i.Args.Get(option) is { } value)
        {
            body[key] = value;
        }
    }

    /// <summary>The forwarding database of a network: the flood list (unknown-dst) and the MACs, one row each.</summary>
    private static int Fdb(Invocation i)
    {
        var network = IdOf(Resolve(i.Api, Network, i.Args.Positionals[0]));
        var fdb = i.Api.Get(Network.Path + "/" + Uri.EscapeDataString(network) + "/l2gw-fdb")?["l2gw_fdb"];
        var rows = new List<Cell[]>();
        static Cell Text(JsonNode? node) => new(node?.DeepClone() ?? JsonValue.Create(""));
        foreach (var flood in fdb?["flood"] as JsonArray ?? [])
        {
            rows.Add([new(JsonValue.Create("unknown-dst")), new(JsonValue.Create("")), Text(flood), new(JsonValue.Create(""))]);
        }

        foreach (var mac in fdb?["macs"] as JsonArray ?? [])
        {
            rows.Add([Text(mac?["mac"]), Text(mac?["ip"]), Text(mac?["tunnel_ip"]), Text(mac?["switch"])]);
        }

        return Print(i, Output.List(["MAC", "IP", "Tunnel IP", "Switch"], rows, i.Format));
    }

    public static bool IsString(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String;
}
