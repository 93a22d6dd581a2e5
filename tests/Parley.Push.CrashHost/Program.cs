// Usage: Parley.Push.CrashHost <db path> <xiaomi base uri> <token key hex> <mode: burst|groups|drain> <users> <messages>
// burst: registers <users> Xiaomi devices, submits <messages> IM messages (each to every user) and prints
//        "ACCEPTED <message id>" once SubmitAsync returned (the pushes are journaled), then keeps sending.
// groups: as burst, but submits the messages 8 at a time through SubmitManyAsync (one journal append per group) and
//        prints the group's "ACCEPTED" lines once it returned.
// drain: only recovers the journal and sends; prints "DRAINED" once no push is pending or mid-request.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parley.Abstractions.Push;
using Parley.Push;
using Parley.Storage.Sqlite;
using Parley.Storage.Sqlite.Push;

var dbPath = args[0];
var baseUri = new Uri(args[1]);
var key = Convert.FromHexString(args[2]);
var mode = args[3];
var users = int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);
var messages = int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture);

var builder = Host.CreateApplicationBuilder();
builder.Logging.ClearProviders();
builder.Services.AddParleySqliteStorage(_ => new SqliteStoreOptions { DataSource = dbPath });
builder.Services.AddSingleton(new DeviceTokenKey(key));
builder.Services.AddParleyPush(o => o.Workers = 8).AddXiaomi(o =>
{
    o.BaseUri = baseUri;
    o.AppSecret = "xm-secret";
    o.PackageName = "com.parley.app";
});
using var host = builder.Build();
await host.StartAsync();
var pipeline = host.Services.GetRequiredService<PushPipeline>();
var journal = host.Services.GetRequiredService<IPushJournal>();

if (mode is "burst" or "groups")
{
    var devices = host.Services.GetRequiredService<IDeviceStore>();
    var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    for (var u = 0; u < users; u++)
    {
        await devices.UpsertAsync(new PushDevice($"u{u}", "phone", "android", PushVendor.Xiaomi, $"regid-{u}", "com.parley.app", PushEnvironment.Production, true, "en", "UTC", now, now));
    }

    var recipients = Enumerable.Range(0, users).Select(u => new PushRecipient($"u{u}", 1)).ToArray();
    var group = mode == "groups" ? 8 : 1;
    for (var m = 0; m < messages; m += group)
    {
        var ids = Enumerable.Range(m, Math.Min(group, messages - m)).Select(i => $"m{i}").ToList();
        if (group == 1)
        {
            await pipeline.SubmitAsync(new PushRequest(ids[0], "c-" + ids[0], "sender", "Sender", PushCategory.Im, "hello", recipients));
        }
        else
        {
            await pipeline.SubmitManyAsync([.. ids.Select(id => new PushRequest(id, "c-" + id, "sender", "Sender", PushCategory.Im, "hello", recipients))]);
        }

        foreach (var id in ids)
        {
            Console.Out.WriteLine("ACCEPTED " + id);
        }

        Console.Out.Flush();
    }

    Console.Out.WriteLine("SUBMITTED");
    Console.Out.Flush();
}

while (true)
{
    var pending = await journal.ListByStateAsync(PushState.Pending, 1);
    var sending = await journal.ListByStateAsync(PushState.Sending, 1);
    if (pending.Count == 0 && sending.Count == 0)
    {
        break;
    }

    await Task.Delay(20);
}

Console.Out.WriteLine("DRAINED");
Console.Out.Flush();
await host.StopAsync();
