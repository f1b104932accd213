// Scale benchmarks of issue 14 (§1 goal, §3). Prints figures; see bench/RESULTS.md ("Scale out") for the method.
//   dotnet run -c Release --project bench/L2Gateway.Scale.Bench propagation [WRITES]   (PostgreSQL, 3 servers)
//   dotnet run -c Release --project bench/L2Gateway.Scale.Bench switches [SWITCHES]    (1 agent, N ovsdb-servers)
//   dotnet run -c Release --project bench/L2Gateway.Scale.Bench fanout [SWITCHES]      (1 server, 10 simulated agents)
//   dotnet run -c Release --project bench/L2Gateway.Scale.Bench catalog                 (10,000 networks, 200,000 ports)
//   dotnet run -c Release --project bench/L2Gateway.Scale.Bench plan [SWITCHES]         (the planner alone, fan-out's shape)
using L2Gateway.Scale.Bench;

var mode = args.FirstOrDefault() ?? "";
int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], System.Globalization.CultureInfo.InvariantCulture) : fallback;
if (mode == "plan")
{
    PlanOnly.Run(Arg(1, 1000));
    return 0;
}

Service.EnsureBuilt();
switch (mode)
{
    case "propagation":
        await Propagation.RunAsync(Arg(1, 500));
        break;
    case "switches":
        await ManySwitches.RunAsync(Arg(1, 200));
        break;
    case "fanout":
        await Fanout.RunAsync(Arg(1, 1000), agents: 10);
        break;
    case "catalog":
        await BigCatalog.RunAsync(networks: 10_000, ports: 200_000, connections: 1_000);
        break;
    default:
        Console.Error.WriteLine("usage: L2Gateway.Scale.Bench propagation [WRITES] | switches [N] | fanout [N] | catalog");
        return 2;
}

return 0;
