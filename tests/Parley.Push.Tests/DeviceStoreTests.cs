using System.Security.Cryptography;
using System.Text;
using Parley.Abstractions.Push;
using Parley.Storage.Sqlite;
using Parley.Storage.Sqlite.Push;

namespace Parley.Push.Tests;

public sealed class DeviceStoreTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "parley-devices-" + Guid.NewGuid().ToString("N"));
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    private SqliteDatabase? _owner;

    private SqliteDatabase Owner => _owner ??= new SqliteDatabase(new SqliteStoreOptions { DataSource = Path.Combine(_directory, "p.db") });

    [Fact]
    public async Task Upsert_TokenEncryptedAtRest_ReadBackOnlyWithTheKey()
    {
        var store = new SqliteDeviceStore(Owner, _key);
        await store.InitializeAsync();
        const string token = "SECRET-VENDOR-TOKEN-0123456789";
        await store.UpsertAsync(PushHarness.Device("bob", "p1", PushVendor.Fcm, token));

        Assert.Equal(token, (await store.GetAsync("bob", "p1"))!.Token);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var files = Directory.GetFiles(_directory).Select(File.ReadAllBytes).ToList();
        Assert.DoesNotContain(files, bytes => Encoding.UTF8.GetString(bytes).Contains(token, StringComparison.Ordinal));

        var thief = new SqliteDeviceStore(Owner, RandomNumberGenerator.GetBytes(32));
        Assert.Equal("", (await thief.GetAsync("bob", "p1"))!.Token);
    }

    [Fact]
    public async Task Registry_UpdateMoveTouchRemoveAndInvalidate()
    {
        var store = new SqliteDeviceStore(Owner, _key);
        await store.InitializeAsync();
        await store.UpsertAsync(PushHarness.Device("bob", "p1", PushVendor.Huawei, "tok-1"));
        await store.UpsertAsync(PushHarness.Device("bob", "p2", PushVendor.Apns, "tok-2") with { Environment = PushEnvironment.Sandbox, Locale = "zh-CN", TimeZone = "Asia/Shanghai" });

        // The same phone logs in as carol: the token leaves bob.
        await store.UpsertAsync(PushHarness.Device("carol", "p9", PushVendor.Huawei, "tok-1"));
        Assert.Null(await store.GetAsync("bob", "p1"));

        var bob = Assert.Single(await store.ListAsync(["bob"]));
        Assert.Equal(PushEnvironment.Sandbox, bob.Environment);
        Assert.Equal("Asia/Shanghai", bob.TimeZone);
        Assert.True(await store.TouchAsync("bob", "p2", bob.LastSeenAt + 5000));
        Assert.Equal(bob.LastSeenAt + 5000, (await store.GetAsync("bob", "p2"))!.LastSeenAt);
        Assert.True(await store.SetNotificationsEnabledAsync("bob", "p2", false));
        Assert.False((await store.GetAsync("bob", "p2"))!.NotificationsEnabled);

        // Invalidation only hits the token the vendor rejected, not a newer one.
        await store.UpsertAsync(PushHarness.Device("bob", "p2", PushVendor.Apns, "tok-3"));
        Assert.False(await store.InvalidateTokenAsync("bob", "p2", "tok-2", 1));
        Assert.True(await store.InvalidateTokenAsync("bob", "p2", "tok-3", 1));
        Assert.Equal(1, (await store.GetAsync("bob", "p2"))!.TokenInvalidAt);

        Assert.True(await store.RemoveAsync("bob", "p2"));
        Assert.False(await store.RemoveAsync("bob", "p2"));
        Assert.Single(await store.ListAsync(["bob", "carol"]));
    }

    [Fact]
    public void Device_ToString_NeverPrintsTheToken()
    {
        var device = PushHarness.Device("bob", "p1", PushVendor.Fcm, "SECRET-TOKEN");
        Assert.DoesNotContain("SECRET-TOKEN", device.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TouchMany_RaisesLastSeenInOneBatch_NeverLowersIt_SkipsUnknownDevices()
    {
        var store = new SqliteDeviceStore(Owner, _key);
        await store.InitializeAsync();
        await store.UpsertAsync(PushHarness.Device("bob", "p1", PushVendor.Fcm, "tok-1"));
        await store.UpsertAsync(PushHarness.Device("carol", "p2", PushVendor.Fcm, "tok-2"));
        var bob = (await store.GetAsync("bob", "p1"))!.LastSeenAt;
        var carol = (await store.GetAsync("carol", "p2"))!.LastSeenAt;

        await store.TouchManyAsync([new DeviceSeen("bob", "p1", bob + 7000), new DeviceSeen("carol", "p2", carol - 1), new DeviceSeen("nobody", "p3", 1)]);

        Assert.Equal(bob + 7000, (await store.GetAsync("bob", "p1"))!.LastSeenAt);
        Assert.Equal(carol, (await store.GetAsync("carol", "p2"))!.LastSeenAt);
        Assert.Null(await store.GetAsync("nobody", "p3"));
    }

    [Fact]
    public async Task LastSeenBuffer_CoalescesLogins_WritesThemOnFlush_KeepsThemWhenTheWriteFails()
    {
        var store = new SqliteDeviceStore(Owner, _key);
        await store.InitializeAsync();
        await store.UpsertAsync(PushHarness.Device("bob", "p1", PushVendor.Fcm, "tok-1"));
        var registered = (await store.GetAsync("bob", "p1"))!.LastSeenAt;
        var buffer = new Parley.Hosting.Push.DeviceLastSeenBuffer(store);

        buffer.Touch("bob", "p1", registered + 9000);
        buffer.Touch("bob", "p1", registered + 4000); // an older login time never wins
        buffer.Touch("ghost", "p9", registered + 1);
        Assert.Equal(2, buffer.PendingCount);
        Assert.Equal(registered, (await store.GetAsync("bob", "p1"))!.LastSeenAt); // nothing written per login

        await buffer.FlushAsync(CancellationToken.None);
        Assert.Equal(0, buffer.PendingCount);
        Assert.Equal(registered + 9000, (await store.GetAsync("bob", "p1"))!.LastSeenAt);

        // A failed write keeps the batch for the next flush.
        buffer.Touch("bob", "p1", registered + 20_000);
        await Owner.DisposeAsync();
        await Assert.ThrowsAnyAsync<ObjectDisposedException>(() => buffer.FlushAsync(CancellationToken.None));
        Assert.Equal(1, buffer.PendingCount);
    }

    public void Dispose()
    {
        _owner?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
