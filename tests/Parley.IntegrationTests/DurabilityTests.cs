using System.Collections.Concurrent;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Sdk;

namespace Parley.IntegrationTests;

public sealed class DurabilityTests
{
    private const int Senders = 4;
    private const int PerSender = 500;

    [Fact]
    public Task KillMinus9_DuringSendBurst_NoAckedMessageLostNoDuplicateGaplessSeqs() => KillDuringBurstAsync(oneWay: false);

    /// <summary>The same with the one-way send (ADR 0022): an ack still means durable, whichever path it took.</summary>
    [Fact]
    public Task KillMinus9_DuringOneWaySendBurst_NoAckedMessageLostNoDuplicateGaplessSeqs() => KillDuringBurstAsync(oneWay: true);

    private static async Task KillDuringBurstAsync(bool oneWay)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "parley-kill-" + Guid.NewGuid().ToString("N"));
        await using var server = new ServerProcess(dataDirectory);
        // Both send paths, whichever is the default (the one-way send is since stop 43).
        server.Configure([new("Parley:Messaging:OneWaySend", oneWay ? "true" : "false")]);

        try
        {
            for (var iteration = 0; iteration < 5; iteration++)
            {
                await RunIterationAsync(server, iteration, new Random(iteration * 7919 + 17));
            }
        }
        finally
        {
            await server.KillAndDeleteDataAsync();
        }
    }

    private static async Task RunIterationAsync(ServerProcess server, int iteration, Random random)
    {
        await server.StartAsync();
        var receiver = await server.CreateUserAsync($"r{iteration}");
        var senders = new List<string>();
        for (var i = 0; i < Senders; i++)
        {
            senders.Add(await server.CreateUserAsync($"s{iteration}x{i}"));
        }

        var clients = new List<ParleyClient>();
        foreach (var s in senders)
        {
            await server.ConnectAsync(s, clients);
        }

        var group = await clients[0].CreateGroupAsync("burst", senders.Skip(1).Append(receiver));
        var acked = new ConcurrentDictionary<string, SendReceipt>();
        var total = Senders * PerSender;
        var killAt = random.Next(total / 10, total * 7 / 10);
        var killNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var sends = SendBurst.Start(clients, PerSender, $"it{iteration}", group.ConversationId, receiver, acked, killAt, killNow);

        await Wait.ForAsync(killNow.Task.ContinueWith(_ => true, TaskScheduler.Default), $"{killAt} acks before the kill", TimeSpan.FromSeconds(60));
        await server.KillAsync();
        // Everything acked before the process died (and possibly a few acks read off the socket just before).
        var ackedBeforeKill = acked.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.True(ackedBeforeKill.Count < total, "the kill must land in the middle of the burst");
        await server.StartAsync();

        await Wait.ForAsync(Task.WhenAll(sends).ContinueWith(_ => true, TaskScheduler.Default), "every send to be acked after the restart", TimeSpan.FromSeconds(120));
        await Task.WhenAll(sends);
        Assert.Equal(total, acked.Count);

        var verifier = await server.ConnectAsync(receiver, clients);
        var conversations = acked.Values.Select(a => a.ConversationId).Distinct().Append(group.ConversationId).Distinct().ToList();
        var storedIds = new HashSet<string>();
        foreach (var conversation in conversations)
        {
            var stored = await SendBurst.ReadAllAsync(verifier, conversation);
            Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (ulong)i), stored.Select(m => m.Seq));
            foreach (var m in stored.Where(m => m.Content?.BodyCase == Content.BodyOneofCase.Text))
            {
                Assert.True(storedIds.Add(m.ClientMsgId), $"{m.ClientMsgId} is stored twice");
                var receipt = acked[m.ClientMsgId];
                Assert.Equal(receipt.Seq, m.Seq);
                Assert.Equal(receipt.ServerMsgId, m.ServerMsgId);
            }
        }

        foreach (var (id, _) in ackedBeforeKill)
        {
            Assert.Contains(id, storedIds);
        }

        Assert.Equal(total, storedIds.Count);
        foreach (var c in clients)
        {
            await c.DisposeAsync();
        }

        await server.KillAsync();
    }
}
