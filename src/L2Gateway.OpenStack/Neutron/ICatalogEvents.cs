namespace L2Gateway.OpenStack.Neutron;

/// <summary>
/// What the catalog sees happen on compute hosts that an OVS agent must be told again, because it keeps the
/// l2population entries it was sent in memory only and ignores those of networks it has no port on.
/// Called on the catalog's own loop, after the change is stored: an implementation must return at once (hand the
/// event to a loop of its own) and never throw.
/// </summary>
public interface ICatalogEvents
{
    /// <summary>The OVS agent of <paramref name="host"/> restarted (its <c>started_at</c> changed).</summary>
    void AgentRestarted(string host);

    /// <summary><paramref name="host"/> got its first ACTIVE port on <paramref name="networkId"/>.</summary>
    void PortActivated(string host, string networkId);
}
