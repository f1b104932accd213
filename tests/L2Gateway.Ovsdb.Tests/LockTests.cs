using L2Gateway.Ovsdb.Operations;

namespace L2Gateway.Ovsdb.Tests;

public class LockTests(OvsdbServerFixture fixture) : IClassFixture<OvsdbServerFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);
    private readonly OvsdbServer _server = fixture.Server;

    [Fact]
    public async Task Lock_is_granted_to_the_waiter_on_unlock_and_stolen_notifications_arrive()
    {
        var name = "lock_" + Guid.NewGuid().ToString("N")[..6];
        await using var a = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        await using var b = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        var stolen = new TaskCompletionSource<string>();
        b.LockStolen += (_, e) => stolen.TrySetResult(e.LockName);

        await Assert.ThrowsAsync<ArgumentException>(() => a.LockAsync("not-an-id"));
        Assert.True(await a.LockAsync(name));
        var bAcquired = b.AcquireLockAsync(name);

        // The server answers b in order: "not owner" means it has b's lock request and did not grant it, and only a
        // "locked" notification (after a's unlock) can complete the acquisition.
        var asserted = await b.TransactAsync("hardware_vtep", Op.Assert(name));
        Assert.Equal("not owner", asserted.Error!.Error);
        Assert.False(bAcquired.IsCompleted);

        await a.UnlockAsync(name);
        await bAcquired.WaitAsync(Generous);
        (await b.TransactAsync("hardware_vtep", Op.Assert(name))).EnsureSuccess();

        await a.StealAsync(name);
        Assert.Equal(name, await stolen.Task.WaitAsync(Generous));
        (await a.TransactAsync("hardware_vtep", Op.Assert(name))).EnsureSuccess();
        Assert.Equal("not owner", (await b.TransactAsync("hardware_vtep", Op.Assert(name))).Error!.Error);
    }

    [Fact]
    public async Task Locks_are_released_when_the_owner_disconnects()
    {
        var name = "lock_" + Guid.NewGuid().ToString("N")[..6];
        var a = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        await using var b = await OvsdbClient.ConnectAsync(_server.TcpEndpoint);
        var locked = new TaskCompletionSource<string>();
        b.LockAcquired += (_, e) => locked.TrySetResult(e.LockName);
        Assert.True(await a.LockAsync(name));
        Assert.False(await b.LockAsync(name));
        await a.DisposeAsync();
        Assert.Equal(name, await locked.Task.WaitAsync(Generous));
    }
}
