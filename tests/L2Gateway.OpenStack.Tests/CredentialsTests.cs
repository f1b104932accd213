using L2Gateway.OpenStack.Keystone;

namespace L2Gateway.OpenStack.Tests;

public sealed class CredentialsTests
{
    [Fact]
    public void Reads_the_service_users_password_credentials_from_keystone_authtoken()
    {
        var credentials = KeystoneCredentials.FromIni(new Dictionary<string, string>
        {
            ["keystone_authtoken:auth_url"] = "http://127.0.0.1:5000/v3",
            ["keystone_authtoken:username"] = "l2gw",
            ["keystone_authtoken:password"] = "secret",
            ["keystone_authtoken:project_name"] = "service",
        });

        Assert.NotNull(credentials);
        Assert.Equal("l2gw", credentials.Username);
        Assert.Equal("Default", credentials.ProjectDomainName);
    }

    [Fact]
    public void Names_what_is_missing()
    {
        var error = Assert.Throws<FormatException>(() => KeystoneCredentials.FromIni(new Dictionary<string, string>
        {
            ["keystone_authtoken:username"] = "l2gw",
        }));

        Assert.Contains("auth_url", error.Message, StringComparison.Ordinal);
        Assert.Contains("password", error.Message, StringComparison.Ordinal);
    }
}
