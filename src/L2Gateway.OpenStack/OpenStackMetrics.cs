namespace L2Gateway.OpenStack;

/// <summary>
/// The meter of OpenStack mode, created from the host's <c>IMeterFactory</c> by the parts that talk to the cloud:
/// Neutron catalog sync (e.g. how far behind Neutron the catalog is) and the message bus (messages received and
/// sent, by kind). The server and the agent export every instrument on it at <c>/metrics</c>; see
/// docs/operations.md.
/// </summary>
public static class OpenStackMetrics
{
    public const string MeterName = "L2Gateway.OpenStack";
}
