using System.Text;
using L2Gateway.Server.Persistence;

namespace L2Gateway.Server.Tests;

/// <summary>The payload of the notifications servers send each other: what it carries, and PostgreSQL's size limit.</summary>
public sealed class ChangeNotificationTests
{
    private static IEnumerable<ChangedRow> Ports(int count, bool deleted = false) =>
        Enumerable.Range(0, count).Select(i => new ChangedRow("ports", $"{i:D8}-0000-4000-8000-000000000000", deleted));

    [Fact]
    public void A_small_write_is_one_notification_with_its_tables_ids_and_deletions()
    {
        var payloads = ChangeNotification.Encode("srv1", [
            new ChangedRow("ports", "p1", false),
            new ChangedRow("networks", "n1", false),
            new ChangedRow("ports", "p2", false),
            new ChangedRow("ports", "p0", true),
            new ChangedRow("ports", "p1", false),
        ]);

        var payload = Assert.Single(payloads);
        var notice = ChangeNotification.Decode(payload);
        Assert.Equal("srv1", notice.Server);
        Assert.False(notice.Reload);
        Assert.Collection(
            notice.Changes,
            c => Assert.Equal(("ports", false, "p1 p2"), (c.Table, c.Deleted, string.Join(' ', c.Ids))),
            c => Assert.Equal(("networks", false, "n1"), (c.Table, c.Deleted, string.Join(' ', c.Ids))),
            c => Assert.Equal(("ports", true, "p0"), (c.Table, c.Deleted, string.Join(' ', c.Ids))));
    }

    [Fact]
    public void Nothing_changed_sends_nothing() => Assert.Empty(ChangeNotification.Encode("srv1", []));

    [Theory]
    [InlineData(150)]
    [InlineData(201)]
    [InlineData(2000)]
    public void A_larger_write_is_split_into_notifications_below_postgresqls_limit_that_name_every_row(int count)
    {
        var rows = Ports(count).Concat(Ports(count / 3, deleted: true)).Append(new ChangedRow("hosts", "h\"é\u2028", false)).ToList();

        var payloads = ChangeNotification.Encode("srv1", rows);

        Assert.All(payloads, p => Assert.True(Encoding.UTF8.GetByteCount(p) < 8000, $"{Encoding.UTF8.GetByteCount(p)} bytes"));
        Assert.InRange(payloads.Count, 1, ChangeNotification.MaxNotifications);
        var decoded = payloads.Select(ChangeNotification.Decode).ToList();
        Assert.All(decoded, n => Assert.False(n.Reload));
        var named = decoded.SelectMany(n => n.Changes).SelectMany(c => c.Ids.Select(id => new ChangedRow(c.Table, id, c.Deleted))).ToList();
        Assert.Equal(rows.ToHashSet(), named.ToHashSet());
        Assert.Equal(rows.Count, named.Count);
    }

    [Fact]
    public void A_payload_is_filled_close_to_the_limit_before_the_next_one_starts()
    {
        var payloads = ChangeNotification.Encode("srv1", Ports(1000));

        Assert.All(payloads.SkipLast(1), p => Assert.InRange(Encoding.UTF8.GetByteCount(p), ChangeNotification.MaxPayloadBytes - 40, ChangeNotification.MaxPayloadBytes));
    }

    [Fact]
    public void A_write_too_large_for_its_notifications_asks_for_a_reload_instead()
    {
        var payload = Assert.Single(ChangeNotification.Encode("srv1", Ports(10_000)));

        var notice = ChangeNotification.Decode(payload);
        Assert.True(notice.Reload);
        Assert.Equal("srv1", notice.Server);
        Assert.Empty(notice.Changes);
    }

    [Fact]
    public void An_id_longer_than_a_notification_asks_for_a_reload()
    {
        var payload = Assert.Single(ChangeNotification.Encode("srv1", [new ChangedRow("switches", new string('x', 9000), false)]));

        Assert.True(ChangeNotification.Decode(payload).Reload);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"changes":[]}""")]
    [InlineData("""{"server":"s"}""")]
    [InlineData("""{"server":"s","changes":[{"table":"ports","ids":["a"]}]}""")]
    [InlineData("""{"server":"s","changes":[{"table":"ports","deleted":false,"ids":[1]}]}""")]
    public void A_payload_that_is_not_ours_is_a_format_error(string payload) =>
        Assert.Throws<FormatException>(() => ChangeNotification.Decode(payload));
}
