using System.Text.Json.Nodes;
using System.Threading.Channels;
using L2Gateway.Core.Planning;
using L2Gateway.OpenStack.Messaging;
using Microsoft.Extensions.Logging;

namespace L2Gateway.Agent;

/// <summary>
/// What an L2 gateway agent tells Neutron about itself in <c>report_state</c>: the shape networking-l2gw's agent
/// reports (binary <c>neutron-l2gateway-agent</c>, type <c>L2 Gateway agent</c>, topic <c>l2gateway_agent</c>),
/// with the agent's switches in <c>configurations</c>.
/// </summary>
public sealed record NeutronAgentIdentity(string Host, IReadOnlyList<string> Switches, TimeSpan ReportInterval, Guid Uuid)
{
    public const string Topic = "q-reports-plugin";
    public const string Version = "1.2";
    public const string Binary = "neutron-l2gateway-agent";
    public const string AgentTopic = "l2gateway_agent";

    /// <summary>The <c>args</c> of one <c>report_state</c> call; <c>start_flag</c> only until a report was accepted.</summary>
    public JsonObject ReportArgs(bool startFlag, DateTimeOffset now)
    {
        var state = new JsonObject
        {
            ["binary"] = Binary,
            ["host"] = Host,
            ["topic"] = AgentTopic,
            ["configurations"] = new JsonObject
            {
                ["report_interval"] = ReportInterval.TotalSeconds,
                ["l2gw_agent_type"] = "",
                ["switches"] = new JsonArray([.. Switches.Select(s => (JsonNode)s)]),
            },
        };
        if (startFlag)
        {
            state["start_flag"] = true;
        }

        state["agent_type"] = AgentProtocol.AgentType;
        state["uuid"] = Uuid.ToString("D");
        return new JsonObject
        {
            ["agent_state"] = new JsonObject { ["agent_state"] = state },
            ["time"] = OsloWire.AgentTime(now),
        };
    }
}

/// <summary>
/// Reports the agent's state to Neutron over the bus as every Neutron agent does: a <c>report_state</c> call on
/// <c>q-reports-plugin</c> every report interval (the call times out after the same interval), and one at once
/// whenever the bus (re)connects. <c>start_flag</c> goes with every report until Neutron has accepted one.
/// One loop owns the state; the timer and the bus only post to its channel.
/// </summary>
public sealed class NeutronStateReporter(IMessageBus bus, NeutronAgentIdentity identity, TimeProvider time, ILogger logger)
{
    private readonly Channel<bool> wake = Channel.CreateUnbounded<bool>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Neutron's answer to the last report (<c>new</c>, <c>alive</c>, <c>revived</c>), or null before any.</summary>
    public string? LastResult { get; private set; }

    /// <summary>Raised after each report Neutron answered, with its answer (tests wait for it).</summary>
    public event Action<string?>? Reported;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        void Wake() => wake.Writer.TryWrite(true);
        using var timer = time.CreateTimer(_ => Wake(), null, identity.ReportInterval, identity.ReportInterval);
        bus.Connected += Wake;
        try
        {
            var startFlag = true;
            var failures = 0;
            if (bus.IsConnected)
            {
                Wake();
            }

            while (await wake.Reader.WaitToReadAsync(cancellationToken))
            {
                // Ticks that piled up while a call waited are one report.
                while (wake.Reader.TryRead(out _))
                {
                }

                try
                {
                    var result = await bus.CallAsync(
                        NeutronAgentIdentity.Topic, "report_state", identity.ReportArgs(startFlag, time.GetUtcNow()), NeutronAgentIdentity.Version, identity.ReportInterval, cancellationToken);
                    startFlag = false;
                    failures = 0;
                    LastResult = result?.ToString();
                    if (LastResult == "revived")
                    {
                        logger.LogInformation("Neutron had taken agent {Host} for dead; it is alive again", identity.Host);
                    }

                    Reported?.Invoke(LastResult);
                }
                catch (Exception e) when (e is BusUnavailableException or TimeoutException or RemoteCallException)
                {
                    // The first failure of a run is a warning; the next ones (a bus that stays down) are not repeated.
                    if (failures++ == 0)
                    {
                        logger.LogWarning("report_state to Neutron failed: {Error}; retrying every {Interval} s", e.Message, identity.ReportInterval.TotalSeconds);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            bus.Connected -= Wake;
        }
    }
}
