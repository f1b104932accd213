using L2Gateway.OpenStack.Keystone;
using L2Gateway.OpenStack.Messaging;
using L2Gateway.OpenStack.Neutron;
using L2Gateway.Server.Persistence;
using L2Gateway.Server.Services;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace L2Gateway.Server.OpenStack;

/// <summary>The <c>catalog</c> option's values, and the services of <c>catalog = neutron</c>.</summary>
public static class NeutronCatalog
{
    public const string Standalone = "standalone";
    public const string Neutron = "neutron";

    /// <summary>
    /// Checks what <c>catalog = neutron</c> needs (Keystone authentication and the service user's credentials, from
    /// which the catalog also learns Neutron's endpoint when <c>[neutron] url</c> is not set) and registers the
    /// Neutron client, the mirror and its sync; throws a <see cref="ConfigurationException"/> in one line otherwise.
    /// </summary>
    public static void Register(IServiceCollection services, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        if (options.AuthStrategy != AuthStrategy.Keystone)
        {
            throw new ConfigurationException("catalog=neutron needs auth_strategy=keystone: Neutron's users and tokens are Keystone's");
        }

        KeystoneCredentials? credentials;
        try
        {
            credentials = KeystoneCredentials.FromIni(options.ConfigFile);
        }
        catch (FormatException e)
        {
            throw new ConfigurationException(e.Message);
        }

        if (credentials is null)
        {
            throw new ConfigurationException(
                "catalog=neutron needs the service user's credentials to read Neutron: [keystone_authtoken] auth_url, username, password, project_name");
        }

        Uri? url = null;
        if (options.NeutronUrl is { Length: > 0 } text
            && (!Uri.TryCreate(text, UriKind.Absolute, out url) || url.Scheme is not ("http" or "https")))
        {
            throw new ConfigurationException($"invalid neutron url '{text}': expected http(s)://HOST:PORT");
        }

        var region = options.ConfigFile.GetValueOrDefault("neutron:region_name") is { Length: > 0 } r ? r
            : options.ConfigFile.GetValueOrDefault("keystone_authtoken:region_name") is { Length: > 0 } k ? k
            : null;
        services.TryAddSingleton(sp => new KeystoneTokenSource(credentials, sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => NeutronClient.ForServiceUser(sp.GetRequiredService<KeystoneTokenSource>(), url, region));
        services.AddSingleton(sp => new NeutronMirrorWriter(sp.GetRequiredService<Store>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new NeutronCatalogSync(
            sp.GetRequiredService<NeutronClient>(),
            sp.GetRequiredService<NeutronMirrorWriter>(),
            sp.GetRequiredService<Store>(),
            options,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<NeutronCatalogSync>>(),
            sp.GetServices<ICatalogEvents>(),
            sp.GetService<INotificationFeed>()));
        services.AddSingleton<INetworkLookup>(sp => sp.GetRequiredService<NeutronCatalogSync>());
        services.AddHostedService(sp => sp.GetRequiredService<NeutronCatalogSync>());
    }
}
