using System.Text.Json;
using L2Gateway.Core;

namespace L2Gateway.Core.Tests;

public class GatewayRulesTests
{
    private static IReadOnlyList<DeviceSpec> Parse(string json) =>
        GatewayRules.ParseDevices(JsonDocument.Parse(json).RootElement);

    private static L2GatewayException Refused(string json) =>
        Assert.Throws<L2GatewayException>(() => Parse(json));

    [Fact]
    public void Parses_devices_with_vlans_as_ints_or_numeric_strings()
    {
        var devices = Parse("""[{"device_name":"sw1","interfaces":[{"name":"eth0","segmentation_id":["100",200]},{"name":"eth1","segmentation_id":[300]}]}]""");
        var device = Assert.Single(devices);
        Assert.Equal("sw1", device.DeviceName);
        Assert.Equal([100, 200], device.Interfaces[0].SegmentationIds);
        Assert.Equal([300], device.Interfaces[1].SegmentationIds);
    }

    [Fact]
    public void Interfaces_without_vlans_have_none()
    {
        var devices = Parse("""[{"device_name":"sw1","interfaces":[{"name":"eth0"},{"name":"eth1","segmentation_id":""}]}]""");
        Assert.All(devices[0].Interfaces, i => Assert.False(i.HasVlans));
    }

    [Fact]
    public void Vlan_zero_means_no_vlan_and_duplicates_collapse()
    {
        var devices = Parse("""[{"device_name":"sw1","interfaces":[{"name":"eth0","segmentation_id":[0]}]}, {"device_name":"sw2","interfaces":[{"name":"p","segmentation_id":[7,7,"7"]}]}]""");
        Assert.False(devices[0].Interfaces[0].HasVlans);
        Assert.Equal([7], devices[1].Interfaces[0].SegmentationIds);
    }

    [Theory]
    [InlineData("[]", "empty device list")]
    [InlineData("null", "empty device list")]
    [InlineData("{}", "must be a list")]
    [InlineData("""[{"device_name":"","interfaces":[{"name":"e"}]}]""", "empty device_name")]
    [InlineData("""[{"interfaces":[{"name":"e"}]}]""", "empty device_name")]
    [InlineData("""[{"device_name":"sw","interfaces":[]}]""", "empty interfaces")]
    [InlineData("""[{"device_name":"sw"}]""", "empty interfaces")]
    [InlineData("""[{"device_name":"sw","interfaces":[{"name":""}]}]""", "empty interface name")]
    [InlineData("""[{"device_name":"sw","interfaces":["eth0"]}]""", "not a type dict")]
    [InlineData("""[{"device_name":"sw","interfaces":[{"name":"e","segmentation_id":100}]}]""", "list type")]
    [InlineData("""[{"device_name":"sw","interfaces":[{"name":"e","segmentation_id":[]}]}]""", "should not be empty")]
    [InlineData("""[{"device_name":"sw","interfaces":[{"name":"e","segmentation_id":["x"]}]}]""", "valid integer")]
    [InlineData("""[{"device_name":"sw","interfaces":[{"name":"e","segmentation_id":[1.5]}]}]""", "valid integer")]
    [InlineData("""[{"device_name":"sw","interfaces":[{"name":"e","segmentation_id":[4095]}]}]""", "out of range")]
    [InlineData("""[{"device_name":"sw","interfaces":[{"name":"e","segmentation_id":[-1]}]}]""", "out of range")]
    [InlineData("""[{"device_name":"sw","interfaces":[{"name":"e","segmentation_id":[100]},{"name":"f"}]}]""", "consistent")]
    [InlineData("""[{"device_name":"sw","interfaces":[{"name":"e"},{"name":"e"}]}]""", "listed twice")]
    [InlineData("""[{"device_name":"sw","interfaces":[{"name":"e"}]},{"device_name":"sw","interfaces":[{"name":"f"}]}]""", "listed twice")]
    [InlineData("""[{"device_name":"sw","interfaces":[{"name":"e","vlan":3}]}]""", "Unrecognized attribute")]
    public void Refuses_bad_devices_with_400(string json, string message)
    {
        var error = Refused(json);
        Assert.Equal(ErrorKind.BadRequest, error.Kind);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mixed_vlans_are_allowed_across_devices()
    {
        var devices = Parse("""[{"device_name":"a","interfaces":[{"name":"e","segmentation_id":[1]}]},{"device_name":"b","interfaces":[{"name":"f"}]}]""");
        Assert.Equal(2, devices.Count);
    }

    private static Gateway Gw(params GatewayDevice[] devices) => new("g", "gw", "p", devices);

    [Fact]
    public void Update_replaces_interfaces_of_named_devices_and_keeps_others()
    {
        var gw = Gw(
            new GatewayDevice("d1", "sw1", [new GatewayInterface("eth0", [100])]),
            new GatewayDevice("d2", "sw2", [new GatewayInterface("eth9", [5])]));
        var updated = GatewayRules.ApplyDeviceUpdate(gw, Parse("""[{"device_name":"sw1","interfaces":[{"name":"eth1","segmentation_id":[200]}]}]"""));
        Assert.Equal("d1", updated[0].Id);
        Assert.Equal("eth1", Assert.Single(updated[0].Interfaces).Name);
        Assert.Same(gw.Devices[1], updated[1]);
    }

    [Fact]
    public void Update_of_unknown_device_is_404_and_vlan_switch_is_400()
    {
        var gw = Gw(new GatewayDevice("d1", "sw1", [new GatewayInterface("eth0", [100])]));
        Assert.Equal(ErrorKind.NotFound, Assert.Throws<L2GatewayException>(() =>
            GatewayRules.ApplyDeviceUpdate(gw, Parse("""[{"device_name":"nope","interfaces":[{"name":"e"}]}]"""))).Kind);
        Assert.Equal(ErrorKind.BadRequest, Assert.Throws<L2GatewayException>(() =>
            GatewayRules.ApplyDeviceUpdate(gw, Parse("""[{"device_name":"sw1","interfaces":[{"name":"e"}]}]"""))).Kind);
    }
}
