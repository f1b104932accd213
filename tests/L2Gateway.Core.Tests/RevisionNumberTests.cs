using L2Gateway.Core.Planning;

namespace L2Gateway.Core.Tests;

public class RevisionNumberTests
{
    [Fact]
    public void Equal_revisions_give_equal_numbers_and_different_ones_differ()
    {
        var a = new SwitchDesiredState("tor1", [new DesiredLogicalSwitch("net-1", 5000, "blue")], [], [], []);
        var b = new SwitchDesiredState("tor1", [new DesiredLogicalSwitch("net-1", 5001, "blue")], [], [], []);
        var again = new SwitchDesiredState("tor1", [new DesiredLogicalSwitch("net-1", 5000, "blue")], [], [], []);

        Assert.Equal(RevisionNumber.Of(a.Revision), RevisionNumber.Of(again.Revision));
        Assert.NotEqual(RevisionNumber.Of(a.Revision), RevisionNumber.Of(b.Revision));
        Assert.NotEqual(0, RevisionNumber.Of(SwitchDesiredState.Empty("tor1").Revision));
    }

    [Fact]
    public void The_number_is_exact_in_a_double_and_zero_means_none()
    {
        Assert.Equal(0, RevisionNumber.Of(null));
        Assert.Equal(0, RevisionNumber.Of(""));

        // 13 hex digits: the largest is 2^52 - 1, which a double holds exactly.
        var largest = RevisionNumber.Of("fffffffffffff123");
        Assert.Equal((1L << 52) - 1, (long)largest);
        Assert.Equal(largest, (double)(long)largest);
        Assert.Equal(0x0123456789abc, RevisionNumber.Of("0123456789abcdef"));

        // Not a hex digest: digested first, so still stable and non-zero.
        Assert.Equal(RevisionNumber.Of("not-hex"), RevisionNumber.Of("not-hex"));
        Assert.NotEqual(0, RevisionNumber.Of("not-hex"));
    }
}
