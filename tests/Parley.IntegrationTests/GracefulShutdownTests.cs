using System.Collections.Concurrent;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

/// <summary>
/// SIGTERM to the real server process in the middle of a send burst: the server stops taking requests, answers those it
/// read (their commits finish), closes every connection with 1012 and exits 0; the SDK reconnects at once and resends
/// what was not answered; after a restart on the same data nothing acked is missing and nothing is stored twice.
/// </summary>
public sealed class GracefulShutdownTests
{
    private const int Senders = 4;
    private const int PerSender = 400;

    [Fact]
    public async Task Sigterm_DuringSendBurst_DrainsWith1012_ExitsCleanly_NoAckedMessageLost_ClientsResume()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-term-" + Guid.NewGuid().ToString("N"));
        await using var server = new ServerProcess(dataDirectory);
        var clients = new List<ParleyClient>();
        try
        {
            await server.StartAsync();
            var receiver = await server.CreateUserAsync("term-r");
            var senders = new List<string>();
            for (var i = 0; i < Senders; i++)
            {
                senders.Add(await server.CreateUserAsync($"term-s{i}"));
            }

            var closeCodes = new ConcurrentDictionary<string, ConcurrentBag<int>>();
            var resumed = new ConcurrentDictionary<string, bool>();
            foreach (var s in senders)
            {
                var client = server.CreateClient((await server.IssueTokenAsync(s)).Token);
                var bag = closeCodes.GetOrAdd(s, _ => []);
                client.ConnectionStateChanged += (_, e) =>
                {
                    if (e.State == ConnectionState.Reconnecting && e.CloseCode is { } code)
                    {
                        bag.Add(code);
                    }

                    if (e.State == ConnectionState.Connected && e.PreviousState == ConnectionState.Reconnecting)
                    {
                        resumed[s] = true;
                    }
                };
                await client.ConnectAsync();
                clients.Add(client);
            }

            var group = await clients[0].CreateGroupAsync("drain", senders.Skip(1).Append(receiver));
            var acked = new ConcurrentDictionary<string, SendReceipt>();
            const int total = Senders * PerSender;
            var stopAt = total / 3;
            var stopNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var sends = SendBurst.Start(clients, PerSender, "term", group.ConversationId, receiver, acked, stopAt, stopNow);

            await Wait.ForAsync(stopNow.Task.ContinueWith(_ => true, TaskScheduler.Default), $"{stopAt} acks before SIGTERM", TimeSpan.FromSeconds(60));
            var exitCode = await server.TerminateAsync(TimeSpan.FromSeconds(45));
            var ackedBeforeStop = acked.ToDictionary(kv => kv.Key, kv => kv.Value);
            Assert.True(exitCode == 0, $"exit code {exitCode}: {server.RecentOutput}");
            Assert.True(ackedBeforeStop.Count < total, "SIGTERM must land in the middle of the burst");
            foreach (var s in senders)
            {
                // Every live connection was told to reconnect (1012), none was simply dropped. The client raises the
                // state change on its own receive loop, which may run after the server process has already exited.
                await Wait.UntilAsync(() => closeCodes[s].Contains(CloseCodes.ServiceRestart), $"{s} to see close code 1012 (saw [{string.Join(", ", closeCodes[s])}] at the server's exit)", TimeSpan.FromSeconds(15));
            }

            await server.StartAsync();
            await Wait.ForAsync(Task.WhenAll(sends).ContinueWith(_ => true, TaskScheduler.Default), "every send to be acked after the restart", TimeSpan.FromSeconds(120));
            await Task.WhenAll(sends);
            Assert.Equal(total, acked.Count);
            Assert.All(senders, s => Assert.True(resumed.ContainsKey(s), $"{s} did not reconnect"));

            // The drain answered every request it had dispatched before closing: no commit's ack was lost in the close,
            // so no resend came back as a duplicate of a stored message (a kill -9 produces such duplicates).
            Assert.DoesNotContain(acked.Values, r => r.Duplicate);

            var verifier = server.CreateClient((await server.IssueTokenAsync(receiver)).Token);
            await verifier.ConnectAsync();
            clients.Add(verifier);
            var storedIds = new HashSet<string>();
            foreach (var conversation in acked.Values.Select(a => a.ConversationId).Distinct())
            {
                var stored = await SendBurst.ReadAllAsync(verifier, conversation);
                Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (ulong)i), stored.Select(m => m.Seq));
                foreach (var m in stored.Where(m => m.Content?.BodyCase == Content.BodyOneofCase.Text))
                {
                    Assert.True(storedIds.Add(m.ClientMsgId), $"{m.ClientMsgId} is stored twice");
                    Assert.Equal(acked[m.ClientMsgId].Seq, m.Seq);
                }
            }

            Assert.All(ackedBeforeStop.Keys, id => Assert.Contains(id, storedIds));
            Assert.Equal(total, storedIds.Count);
        }
        finally
        {
            await server.KillAndDeleteDataAsync(clients);
        }
    }

    [Fact]
    public async Task Sigterm_WithIdleNativeConnection_ClosesItWith1012AndExitsZero()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-term-" + Guid.NewGuid().ToString("N"));
        await using var server = new ServerProcess(dataDirectory);
        try
        {
            await server.StartAsync();
            var user = await server.CreateUserAsync("idle");
            await using var raw = await RawClient.ConnectAsync(server.WebSocketUri);
            await raw.HelloAsync((await server.IssueTokenAsync(user)).Token, "d1");
            var exit = server.TerminateAsync(TimeSpan.FromSeconds(45));
            Assert.Equal(CloseCodes.ServiceRestart, await raw.ReceiveCloseAsync(TimeSpan.FromSeconds(30)));
            await raw.Socket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
            var code = await exit;
            Assert.True(code == 0, $"exit code {code}: {server.RecentOutput}");
        }
        finally
        {
            await server.KillAndDeleteDataAsync();
        }
    }
}
