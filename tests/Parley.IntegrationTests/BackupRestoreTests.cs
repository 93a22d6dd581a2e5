using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;
using Parley.Storage.Sqlite.Backup;

namespace Parley.IntegrationTests;

/// <summary>
/// The online backup: taken from the real server while SDK clients keep sending, restored into a new data directory,
/// and a second server started on it has every message acked before the backup began (same seqs, same ids), the media
/// object and the keys (old device tokens still sign in), and continues each conversation's seqs.
/// </summary>
public sealed class BackupRestoreTests
{
    [Fact]
    public async Task Backup_UnderSendLoad_RestoredServerHasEveryAckedMessage_AndContinuesSeqs()
    {
        var restored = Path.Combine(Path.GetTempPath(), "parley-restore-" + Guid.NewGuid().ToString("N"));
        var archive = Path.Combine(Path.GetTempPath(), "parley-backup-" + Guid.NewGuid().ToString("N") + ".tar.gz");
        try
        {
            var acked = new ConcurrentDictionary<string, SendReceipt>();
            byte[] fileBytes = RandomNumberGenerator.GetBytes(70_000);
            string receiver;
            string receiverToken;
            SendReceipt fileReceipt;
            Dictionary<string, SendReceipt> ackedBeforeBackup;
            long backupVersion;
            await using (var server = await TestServer.StartAsync())
            {
                receiver = await server.CreateUserAsync("bk-r");
                var senders = new List<ParleyClient>();
                for (var i = 0; i < 3; i++)
                {
                    senders.Add(await server.ConnectAsync(await server.CreateUserAsync($"bk-s{i}")));
                }

                receiverToken = await server.IssueTokenAsync(receiver, "phone");
                var group = await senders[0].CreateGroupAsync("backup", senders.Skip(1).Select(c => c.UserId!).Append(receiver));
                fileReceipt = await senders[0].SendFileAsync(new Target { UserId = receiver }, new MemoryStream(fileBytes), "report.bin");

                // Senders keep going until the backup is downloaded; the backup starts after 150 acks.
                using var stop = new CancellationTokenSource();
                var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var load = senders.Select((client, i) => Task.Run(async () =>
                {
                    for (var k = 0; !stop.IsCancellationRequested; k++)
                    {
                        var id = $"bk-s{i}-{k}";
                        var receipt = k % 2 == 0
                            ? await client.SendTextToConversationAsync(group.ConversationId, id, id)
                            : await client.SendTextAsync(receiver, id, id);
                        Assert.True(acked.TryAdd(id, receipt), $"{id} acked twice");
                        if (acked.Count >= 150)
                        {
                            started.TrySetResult();
                        }
                    }
                })).ToList();

                await Wait.ForAsync(started.Task.ContinueWith(_ => true, TaskScheduler.Default), "150 acks before the backup", TimeSpan.FromSeconds(60));
                ackedBeforeBackup = acked.ToDictionary(kv => kv.Key, kv => kv.Value);
                using (var response = await server.Admin.PostAsync("/admin/v1/backup", null))
                {
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    Assert.Equal("application/gzip", response.Content.Headers.ContentType?.MediaType);
                    backupVersion = long.Parse(response.Headers.GetValues("X-Parley-Backup-Version").Single(), System.Globalization.CultureInfo.InvariantCulture);
                    await using var file = File.Create(archive);
                    await response.Content.CopyToAsync(file);
                }

                var afterBackup = acked.Count;
                await Wait.UntilAsync(() => acked.Count >= afterBackup + 30, "sends to go on after the backup", TimeSpan.FromSeconds(30));
                await stop.CancelAsync();
                await Task.WhenAll(load);
                Assert.True(acked.Count > ackedBeforeBackup.Count, "the backup must be taken while clients send");

                // The backup is audited.
                var audit = await server.Admin.GetFromJsonAsync<System.Text.Json.JsonElement>("/admin/v1/audit?action=backup");
                Assert.Contains(audit.GetProperty("items").EnumerateArray(), e => e.GetProperty("action").GetString() == "backup.create" && e.GetProperty("status").GetInt32() == 200);
            }

            RestoreResult result;
            await using (var input = File.OpenRead(archive))
            {
                result = await BackupArchive.RestoreAsync(input, restored);
            }

            Assert.Equal(backupVersion, result.Manifest.FeedVersion);
            Assert.Equal(1, result.Objects);
            Assert.Empty(result.Database.Pending);
            Assert.Contains("token-signing.key", result.Manifest.KeyFiles);
            Assert.True(File.Exists(Path.Combine(restored, "parley.db")));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(restored, "parley.db")));
            }

            await using (var server = await TestServer.StartAsync(new Dictionary<string, string?> { ["Parley:Storage:DataDirectory"] = restored }))
            {
                // A token issued by the first server still signs in: the signing key came back with the data.
                var reader = await server.CreateClientAsync(receiver, "phone", token: receiverToken);
                await reader.ConnectAsync();
                var stored = new Dictionary<string, Message>();
                var maxSeq = new Dictionary<string, ulong>();
                foreach (var conversation in acked.Values.Select(a => a.ConversationId).Append(fileReceipt.ConversationId).Distinct())
                {
                    var messages = await SendBurst.ReadAllAsync(reader, conversation);
                    Assert.Equal(Enumerable.Range(1, messages.Count).Select(i => (ulong)i), messages.Select(m => m.Seq));
                    maxSeq[conversation] = messages.Count == 0 ? 0 : messages[^1].Seq;
                    foreach (var m in messages)
                    {
                        stored[m.ClientMsgId] = m;
                    }
                }

                foreach (var (id, receipt) in ackedBeforeBackup)
                {
                    Assert.True(stored.TryGetValue(id, out var m), $"{id} was acked before the backup but is not in the restored copy");
                    Assert.Equal(receipt.Seq, m.Seq);
                    Assert.Equal(receipt.ServerMsgId, m.ServerMsgId);
                }

                // Nothing in the copy was never acked, and the copy is a prefix of each conversation (consistent snapshot).
                Assert.All(stored.Keys.Where(k => k.StartsWith("bk-", StringComparison.Ordinal)), id => Assert.True(acked.ContainsKey(id), $"{id} in the copy was never acked"));
                foreach (var (id, m) in stored.Where(kv => acked.ContainsKey(kv.Key)))
                {
                    Assert.Equal(acked[id].Seq, m.Seq);
                }

                // The media object is back: the file message downloads with the same bytes.
                var fileMessage = stored[fileReceipt.ClientMsgId];
                var download = new MemoryStream();
                await reader.DownloadAsync(fileMessage.Content.File.ObjectId, download);
                Assert.Equal(fileBytes, download.ToArray());

                // Seqs continue where the copy ends.
                var sender = await server.ConnectAsync(stored[fileReceipt.ClientMsgId].SenderId, "d2");
                var next = await sender.SendTextAsync(receiver, "after restore", "after-restore");
                Assert.Equal(maxSeq[next.ConversationId] + 1, next.Seq);
            }
        }
        finally
        {
            File.Delete(archive);
            if (Directory.Exists(restored))
            {
                Directory.Delete(restored, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Restore_IntoNonEmptyDirectory_OrFromDamagedArchive_IsRefused_AndLeavesNothing()
    {
        var target = Path.Combine(Path.GetTempPath(), "parley-restore-" + Guid.NewGuid().ToString("N"));
        var archive = Path.Combine(Path.GetTempPath(), "parley-backup-" + Guid.NewGuid().ToString("N") + ".tar.gz");
        try
        {
            await using (var server = await TestServer.StartAsync())
            {
                await server.CreateUserAsync("bk-one");
                using var response = await server.Admin.PostAsync("/admin/v1/backup", null);
                response.EnsureSuccessStatusCode();
                await File.WriteAllBytesAsync(archive, await response.Content.ReadAsByteArrayAsync());
            }

            Directory.CreateDirectory(target);
            await File.WriteAllTextAsync(Path.Combine(target, "parley.db"), "live data");
            await using (var input = File.OpenRead(archive))
            {
                await Assert.ThrowsAsync<IOException>(() => BackupArchive.RestoreAsync(input, target));
            }

            Assert.Equal("live data", await File.ReadAllTextAsync(Path.Combine(target, "parley.db")));
            Directory.Delete(target, recursive: true);

            // A truncated archive (a cut download) is refused and nothing is left in the target.
            var bytes = await File.ReadAllBytesAsync(archive);
            await using (var cut = new MemoryStream(bytes, 0, bytes.Length / 2))
            {
                await Assert.ThrowsAnyAsync<Exception>(() => BackupArchive.RestoreAsync(cut, target));
            }

            Assert.False(Directory.Exists(target), "a failed restore leaves no directory behind");
        }
        finally
        {
            File.Delete(archive);
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }
        }
    }
}
