namespace L2Gateway.Server.Services;

/// <summary>
/// Where the catalog comes from elsewhere (Neutron), makes sure a network the catalog has not mirrored yet is looked
/// up at its source before a request that names it is answered. Not registered in standalone mode.
/// </summary>
public interface INetworkLookup
{
    /// <summary>
    /// Returns once the network is in the catalog, or known not to exist (the caller's own check then answers 404);
    /// throws a 503 <see cref="Core.L2GatewayException"/> when the source cannot be asked.
    /// </summary>
    Task EnsureNetworkAsync(string networkId, CancellationToken cancellationToken);
}
