using L2Gateway.OpenStack.Messaging;

namespace L2Gateway.OpenStack.Tests;

public sealed class TransportUrlTests
{
    [Fact]
    public void Reads_oslos_form()
    {
        var url = TransportUrl.Parse("rabbit://guest:guest@127.0.0.1:25682/");

        Assert.Equal([new RabbitHost("127.0.0.1", 25682, "guest", "guest")], url.Hosts);
        Assert.Equal("/", url.VirtualHost);
    }

    [Fact]
    public void Reads_a_cluster_and_a_virtual_host()
    {
        var url = TransportUrl.Parse("rabbit://openstack:s%40cret@rabbit1:5672,openstack:s%40cret@rabbit2,openstack:s%40cret@[fd00::3]:5673/openstack");

        Assert.Equal(
            [new RabbitHost("rabbit1", 5672, "openstack", "s@cret"), new RabbitHost("rabbit2", 5672, "openstack", "s@cret"), new RabbitHost("fd00::3", 5673, "openstack", "s@cret")],
            url.Hosts);
        Assert.Equal("openstack", url.VirtualHost);
    }

    [Theory]
    [InlineData("rabbit://h", "/")]
    [InlineData("rabbit://h/", "/")]
    [InlineData("rabbit://h//", "/")]
    [InlineData("rabbit://h/%2F", "/")]
    [InlineData("rabbit://h/a%2Fb", "a/b")]
    public void The_path_is_the_virtual_host(string text, string virtualHost) => Assert.Equal(virtualHost, TransportUrl.Parse(text).VirtualHost);

    [Fact]
    public void A_host_without_credentials_is_guest()
    {
        Assert.Equal(new RabbitHost("h", 5672, "guest", "guest"), TransportUrl.Parse("rabbit://h/").Hosts[0]);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("127.0.0.1:5672", "expected rabbit://")]
    [InlineData("amqp://guest:guest@h:5672/", "unsupported scheme 'amqp'")]
    [InlineData("kafka://h:9092/", "unsupported scheme 'kafka'")]
    [InlineData("rabbit:///", "no host")]
    [InlineData("rabbit://guest:pw@:5672/", "no host")]
    [InlineData("rabbit://guest:pw@h:0/", "invalid port '0'")]
    [InlineData("rabbit://guest:pw@h:70000/", "invalid port '70000'")]
    [InlineData("rabbit://guest:pw@h:x/", "invalid port 'x'")]
    [InlineData("rabbit://guest:pw@[::1/", "unclosed '['")]
    [InlineData("rabbit://guest:pw@h_1!/", "invalid host 'h_1!'")]
    [InlineData("rabbit://:pw@h/", "empty user name")]
    [InlineData("rabbit://a:1@h1,b:2@h2/", "same user and password")]
    [InlineData("rabbit://guest:pw@h/?ssl=1", "query parameters are not supported")]
    public void Bad_input_is_one_line_naming_the_fault(string text, string fault)
    {
        var error = Assert.Throws<FormatException>(() => TransportUrl.Parse(text));

        Assert.Contains(fault, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain("pw@", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Passwords_never_show()
    {
        Assert.Equal("rabbit://u:***@h1:5672,u:***@h2/v", TransportUrl.Redact("rabbit://u:secret@h1:5672,u:secret@h2/v"));
        Assert.Equal("rabbit://u:***@h1:5672,u:***@h2:5672/v", TransportUrl.Parse("rabbit://u:secret@h1:5672,u:secret@h2/v").ToString());
    }
}
