using System.Text;
using System.Text.Json.Nodes;
using Parley.Abstractions.Push;
using Parley.Push.Tests.Simulators;

namespace Parley.Push.Tests;

public sealed class PushPipelineTests
{
    private static PushRecipient Bob(int unread = 3) => new("bob", unread);

    [Fact]
    public async Task Submit_OfflineAndBackgroundDevices_ExactlyOnePushEach_ForegroundNone()
    {
        await using var h = await PushHarness.StartAsync();
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "iphone", PushVendor.Apns, PushHarness.ApnsToken(1)));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "mate", PushVendor.Huawei, "hms-token-1"));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "redmi", PushVendor.Xiaomi, "xm-regid-1"));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "desktop", PushVendor.WebPush, h.WebPush.Subscribe("desk")));
        await h.Devices.UpsertAsync(PushHarness.Device("alice", "alice-phone", PushVendor.Fcm, "fcm-token-alice"));

        // The desktop received it on a foreground connection; the iPhone app is backgrounded (so not listed).
        var result = await h.Pipeline.SubmitAsync(PushHarness.Im("m1", "c1", Bob() with { ForegroundDeviceIds = new HashSet<string> { "desktop" } }, new PushRecipient("alice", 0)));

        Assert.Equal(5, result.Planned);
        Assert.Equal(3, result.AcceptedPushIds.Count);
        Assert.Equal(1, result.Filtered["online"]);
        Assert.Equal(1, result.Filtered["sender"]);
        foreach (var id in result.AcceptedPushIds)
        {
            await h.WaitForStateAsync(id, PushState.Accepted);
        }

        Assert.Equal(1, h.Apns.AcceptedCount);
        Assert.Equal(1, h.Huawei.AcceptedCount);
        Assert.Equal(1, h.Xiaomi.AcceptedCount);
        Assert.Equal(0, h.WebPush.AcceptedCount);
        Assert.Empty(h.Fcm.Requests);
        Assert.All(h.All.SelectMany(s => s.Delivered.Values), v => Assert.Equal(1, v));
    }

    [Fact]
    public async Task Im_EveryVendor_CarriesItsImClassification()
    {
        await using var h = await PushHarness.StartAsync();
        var devices = new[]
        {
            PushHarness.Device("bob", "d-apns", PushVendor.Apns, PushHarness.ApnsToken(2)),
            PushHarness.Device("bob", "d-fcm", PushVendor.Fcm, "fcm-token-bob"),
            PushHarness.Device("bob", "d-hw", PushVendor.Huawei, "hms-token-bob"),
            PushHarness.Device("bob", "d-honor", PushVendor.Honor, "honor-token-bob"),
            PushHarness.Device("bob", "d-xm", PushVendor.Xiaomi, "xm-regid-bob"),
            PushHarness.Device("bob", "d-oppo", PushVendor.Oppo, "oppo-regid-bob"),
            PushHarness.Device("bob", "d-vivo", PushVendor.Vivo, "vivo-regid-bob"),
            PushHarness.Device("bob", "d-web", PushVendor.WebPush, h.WebPush.Subscribe("bob-web")),
        };
        foreach (var d in devices)
        {
            await h.Devices.UpsertAsync(d);
        }

        var result = await h.Pipeline.SubmitAsync(PushHarness.Im("m-class", "c-class", Bob(7)));
        Assert.Equal(8, result.AcceptedPushIds.Count);
        foreach (var id in result.AcceptedPushIds)
        {
            await h.WaitForStateAsync(id, PushState.Accepted);
        }

        var apns = h.Apns.Requests.Single(r => r.Status == 200);
        Assert.Equal("HTTP/2", apns.Protocol);
        Assert.Equal("alert", apns.Headers["apns-push-type"]);
        Assert.Equal("10", apns.Headers["apns-priority"]);
        Assert.Equal("c-class", apns.Headers["apns-collapse-id"]);
        var aps = JsonNode.Parse(apns.Body)!["aps"]!;
        Assert.Equal("c-class", aps["thread-id"]!.GetValue<string>());
        Assert.Equal(7, aps["badge"]!.GetValue<int>());

        var fcm = JsonNode.Parse(h.Fcm.Requests.Single(r => r.Status == 200).Body)!["message"]!;
        Assert.Equal("HIGH", fcm["android"]!["priority"]!.GetValue<string>());
        Assert.Equal("parley_im", fcm["android"]!["notification"]!["channel_id"]!.GetValue<string>());

        var hw = JsonNode.Parse(h.Huawei.Requests.Single(r => r.Status == 200).Body)!["message"]!["android"]!;
        Assert.Equal("IM", hw["category"]!.GetValue<string>());
        Assert.Equal("NORMAL", hw["notification"]!["importance"]!.GetValue<string>());

        var honor = JsonNode.Parse(h.Honor.Requests.Single(r => r.Status == 200).Body)!["message"]!["android"]!;
        Assert.Equal("NORMAL", honor["notification"]!["importance"]!.GetValue<string>());

        var xm = System.Web.HttpUtility.ParseQueryString(Encoding.UTF8.GetString(h.Xiaomi.Requests.Single(r => r.Status == 200).Body));
        Assert.Equal("parley_im", xm["extra.channel_id"]);
        Assert.True(h.Xiaomi.Channels[xm["extra.channel_id"]!], "the IM channel is a private-message (私信) channel");

        var oppo = JsonNode.Parse(System.Web.HttpUtility.ParseQueryString(Encoding.UTF8.GetString(h.Oppo.Requests.Single(r => r.Path.EndsWith("unicast", StringComparison.Ordinal)).Body))["message"]!)!["notification"]!;
        Assert.Equal("IM", oppo["category"]!.GetValue<string>());
        Assert.Equal(2, oppo["notify_level"]!.GetValue<int>());

        var vivo = JsonNode.Parse(h.Vivo.Requests.Single(r => r.Path == "/message/send").Body)!;
        Assert.Equal(1, vivo["classification"]!.GetValue<int>());
        Assert.Equal("IM", vivo["category"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(vivo["requestId"]!.GetValue<string>()));

        var web = h.WebPush.Requests.Single(r => r.Status == 201);
        Assert.Equal("high", web.Headers["urgency"]);
        var decrypted = Assert.Single(h.WebPush.Decrypted);
        Assert.Equal(7, decrypted["badge"]!.GetValue<int>());

        // Every vendor's payload carries the push id and trace id.
        Assert.All(h.All, s => Assert.Single(s.Delivered));
        var trace = result.AcceptedPushIds.Select(id => h.Journal.GetAsync(id).Result!.TraceId).Distinct().Single();
        Assert.Contains(trace, Encoding.UTF8.GetString(apns.Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Marketing_MapsToEachVendorsLowClass()
    {
        await using var h = await PushHarness.StartAsync(o => o.QuietHoursStart = o.QuietHoursEnd);
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "d-apns", PushVendor.Apns, PushHarness.ApnsToken(3)));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "d-hw", PushVendor.Huawei, "hms-token-m"));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "d-vivo", PushVendor.Vivo, "vivo-regid-m"));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "d-oppo", PushVendor.Oppo, "oppo-regid-m"));
        var request = new PushRequest("promo-1", "campaign", "system", "Parley", PushCategory.Marketing, "", [Bob()])
        {
            Templates = [new PushTemplate("t1", "Spring sale", "20% off")],
        };

        var result = await h.Pipeline.SubmitAsync(request);
        foreach (var id in result.AcceptedPushIds)
        {
            await h.WaitForStateAsync(id, PushState.Accepted);
        }

        Assert.Equal("5", h.Apns.Requests.Single().Headers["apns-priority"]);
        var hw = JsonNode.Parse(h.Huawei.Requests.Single().Body)!["message"]!["android"]!;
        Assert.Null(hw["category"]);
        Assert.Equal("LOW", hw["notification"]!["importance"]!.GetValue<string>());
        var vivo = JsonNode.Parse(h.Vivo.Requests.Single(r => r.Path == "/message/send").Body)!;
        Assert.Equal(0, vivo["classification"]!.GetValue<int>());
        Assert.Equal("MARKETING", vivo["category"]!.GetValue<string>());
        Assert.Equal("Spring sale", vivo["title"]!.GetValue<string>());
    }

    [Fact]
    public async Task Policy_MutedMentionsOnlyDndAndDisabled_FilteredWithReason()
    {
        await using var h = await PushHarness.StartAsync();
        foreach (var u in new[] { "muted", "mentions", "mentioned", "dnd", "disabled" })
        {
            await h.Devices.UpsertAsync(PushHarness.Device(u, "p", PushVendor.Fcm, "fcm-" + u) with { NotificationsEnabled = u != "disabled" });
        }

        var result = await h.Pipeline.SubmitAsync(PushHarness.Im(
            "m-policy",
            "c-policy",
            new PushRecipient("muted", 1) { Mode = ConversationNotifyMode.Muted },
            new PushRecipient("mentions", 1) { Mode = ConversationNotifyMode.MentionsOnly },
            new PushRecipient("mentioned", 1) { Mode = ConversationNotifyMode.MentionsOnly, Mentioned = true },
            new PushRecipient("dnd", 1) { DoNotDisturb = true },
            new PushRecipient("disabled", 1)));

        Assert.Single(result.AcceptedPushIds);
        Assert.Equal(1, result.Filtered["muted"]);
        Assert.Equal(1, result.Filtered["mentions_only"]);
        Assert.Equal(1, result.Filtered["dnd"]);
        Assert.Equal(1, result.Filtered["notifications_disabled"]);
        Assert.Equal(1, h.Sum("parley.push.stage.dropped", ("stage", "policy"), ("reason", "muted")));
        Assert.Equal(1, h.Sum("parley.push.stage.dropped", ("stage", "resolve"), ("reason", "notifications_disabled")));
        var rows = await h.Pipeline.GetMessagePushesAsync("m-policy");
        Assert.Equal(5, rows.Count);
        Assert.Equal(4, rows.Count(r => r.State == PushState.Filtered));
    }

    [Theory]
    [InlineData(PushPrivacyMode.Full, "Alice", "see you at 6")]
    [InlineData(PushPrivacyMode.SenderOnly, "Alice", "New message")]
    [InlineData(PushPrivacyMode.Generic, "Parley", "New message")]
    public async Task Compose_PrivacyMode_DecidesTitleAndBody(PushPrivacyMode mode, string title, string body)
    {
        await using var h = await PushHarness.StartAsync();
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Fcm, "fcm-bob-privacy"));
        var result = await h.Pipeline.SubmitAsync(PushHarness.Im("m-priv", "c-priv", Bob(12) with { Privacy = mode }) with { TraceId = "0123456789abcdef0123456789abcdef" });
        await h.WaitForStateAsync(result.AcceptedPushIds[0], PushState.Accepted);

        var message = JsonNode.Parse(h.Fcm.Requests.Single(r => r.Status == 200).Body)!["message"]!;
        Assert.Equal(title, message["notification"]!["title"]!.GetValue<string>());
        Assert.Equal(body, message["notification"]!["body"]!.GetValue<string>());
        Assert.Equal("12", message["data"]!["badge"]!.GetValue<string>());
        Assert.Equal("c-priv", message["android"]!["collapse_key"]!.GetValue<string>());
        Assert.Equal(result.AcceptedPushIds[0], message["data"]!["push_id"]!.GetValue<string>());
        Assert.Equal("0123456789abcdef0123456789abcdef", message["data"]!["trace_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Coalesce_BurstInOneConversation_FirstAtOnceRestAsOneDigest()
    {
        await using var h = await PushHarness.StartAsync(o => o.CoalesceWindow = TimeSpan.FromSeconds(30));
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Fcm, "fcm-bob-burst"));

        var first = await h.Pipeline.SubmitAsync(PushHarness.Im("b1", "c-burst", Bob(1)));
        await h.WaitForStateAsync(first.AcceptedPushIds[0], PushState.Accepted);
        string? digestId = null;
        for (var i = 2; i <= 5; i++)
        {
            h.Time.Advance(TimeSpan.FromSeconds(2));
            var r = await h.Pipeline.SubmitAsync(PushHarness.Im("b" + i, "c-burst", Bob(i)));
            Assert.Single(r.CoalescedPushIds);
            digestId ??= (await h.Journal.GetAsync(r.CoalescedPushIds[0]))!.DigestPushId;
        }

        Assert.Equal(1, h.Fcm.AcceptedCount);
        h.Time.Advance(TimeSpan.FromSeconds(30));
        var digest = await h.WaitForStateAsync(digestId!, PushState.Accepted);
        Assert.Equal(2, h.Fcm.AcceptedCount);

        var message = JsonNode.Parse(h.Fcm.Requests.Last(r => r.Status == 200).Body)!["message"]!;
        Assert.Equal("4 new messages", message["notification"]!["body"]!.GetValue<string>());
        Assert.Equal("5", message["data"]!["badge"]!.GetValue<string>());
        Assert.Equal("4", message["data"]!["digest_count"]!.GetValue<string>());

        // "What happened to the pushes of message b3": folded into the digest, which was accepted.
        var rows = await h.Pipeline.GetMessagePushesAsync("b3");
        Assert.Contains(rows, r => r.State == PushState.Coalesced && r.DigestPushId == digest.PushId);
        Assert.Contains(rows, r => r.PushId == digest.PushId && r.State == PushState.Accepted);
    }

    [Fact]
    public async Task QuietHours_DelayMarketingUntilMorning_ImGoesAtOnce()
    {
        await using var h = await PushHarness.StartAsync();
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Huawei, "hms-bob-night", timeZone: "Asia/Shanghai"));
        h.Time.Advance(TimeSpan.FromHours(3)); // 15:00 UTC = 23:00 in Shanghai

        var im = await h.Pipeline.SubmitAsync(PushHarness.Im("n-im", "c-night", Bob()));
        var promo = await h.Pipeline.SubmitAsync(new PushRequest("n-promo", "campaign", "system", "Parley", PushCategory.Marketing, "", [Bob()])
        {
            Templates = [new PushTemplate("t", "Sale", "Now")],
        });
        await h.WaitForStateAsync(im.AcceptedPushIds[0], PushState.Accepted);

        var pending = await h.Journal.GetAsync(promo.AcceptedPushIds[0]);
        Assert.Equal(PushState.Pending, pending!.State);
        Assert.Equal("quiet_hours", pending.Reason);
        Assert.Equal(new DateTimeOffset(2026, 1, 16, 8, 0, 0, TimeSpan.FromHours(8)).ToUnixTimeMilliseconds(), pending.NotBefore);
        Assert.Equal(1, h.Huawei.AcceptedCount);

        h.Time.Advance(TimeSpan.FromHours(9)); // 08:00 Shanghai
        await h.WaitForStateAsync(promo.AcceptedPushIds[0], PushState.Accepted);
        Assert.Equal(2, h.Huawei.AcceptedCount);
    }

    [Fact]
    public async Task QuietHours_EndingAfterTheExpiry_SuppressWithTheReason_AndGiveTheDailyCapBack()
    {
        await using var h = await PushHarness.StartAsync(o => o.MarketingDailyCapPerUser = 1);
        await h.Devices.UpsertAsync(PushHarness.Device("bob", "p", PushVendor.Huawei, "hms-bob-night", timeZone: "Asia/Shanghai"));
        h.Time.Advance(TimeSpan.FromHours(3)); // 15:00 UTC = 23:00 in Shanghai; quiet hours end at 08:00 there (00:00 UTC)
        var quietEnd = new DateTimeOffset(2026, 1, 16, 8, 0, 0, TimeSpan.FromHours(8)).ToUnixTimeMilliseconds();
        PushRequest Promo(string id, long? expiresAt) => new(id, "campaign", "system", "Parley", PushCategory.Marketing, "", [Bob()])
        {
            Templates = [new PushTemplate("t", "Sale", "Now")],
            ExpiresAt = expiresAt,
        };

        // Expires one minute before the quiet hours end: nothing journaled to wait, suppressed now with the reason.
        var early = await h.Pipeline.SubmitAsync(Promo("n-early", quietEnd - 60_000));
        Assert.Empty(early.AcceptedPushIds);
        Assert.Equal(1, early.Filtered["quiet_hours"]);
        var row = Assert.Single(await h.Pipeline.GetMessagePushesAsync("n-early"));
        Assert.Equal((PushState.Filtered, "quiet_hours"), (row.State, row.Reason));

        // It did not use the user's daily cap of 1: the next promo (expiring after the quiet hours) waits for the morning.
        var later = await h.Pipeline.SubmitAsync(Promo("n-later", quietEnd + 60_000));
        var pending = await h.Journal.GetAsync(Assert.Single(later.AcceptedPushIds));
        Assert.Equal((PushState.Pending, "quiet_hours", quietEnd), (pending!.State, pending.Reason, pending.NotBefore));

        // That one counts: a third is capped (and, capped, gives nothing back either).
        var third = await h.Pipeline.SubmitAsync(Promo("n-third", null));
        Assert.Equal(1, third.Filtered["user_cap"]);
        Assert.Equal(1, (await h.Pipeline.SubmitAsync(Promo("n-fourth", null))).Filtered["user_cap"]);

        h.Time.Advance(TimeSpan.FromHours(9)); // 08:00 Shanghai
        await h.WaitForStateAsync(pending.PushId, PushState.Accepted);
        Assert.Equal(1, h.Huawei.AcceptedCount);
    }

    [Fact]
    public async Task Funnel_CountsEqualWhatSimulatorsSaw()
    {
        await using var h = await PushHarness.StartAsync();
        for (var u = 0; u < 6; u++)
        {
            await h.Devices.UpsertAsync(PushHarness.Device("u" + u, "a", PushVendor.Apns, PushHarness.ApnsToken(100 + u)));
            await h.Devices.UpsertAsync(PushHarness.Device("u" + u, "b", PushVendor.Vivo, "vivo-u" + u));
        }

        h.Apns.InvalidTokens[PushHarness.ApnsToken(100)] = true;
        var recipients = Enumerable.Range(0, 6).Select(u => new PushRecipient("u" + u, 1) { Mode = u == 5 ? ConversationNotifyMode.Muted : ConversationNotifyMode.All }).ToArray();
        var ids = new List<string>();
        for (var m = 0; m < 3; m++)
        {
            ids.AddRange((await h.Pipeline.SubmitAsync(PushHarness.Im("f" + m, "cf" + m, recipients))).AcceptedPushIds);
        }

        PushRecord?[] rows = [];
        await PushHarness.WaitUntilAsync(
            async () => (rows = await Task.WhenAll(ids.Select(id => h.Journal.GetAsync(id)))).All(r => r!.State is PushState.Accepted or PushState.InvalidToken or PushState.Filtered),
            () => "all pushes finished: " + string.Join(", ", rows.GroupBy(r => r!.State + ":" + r.Reason).Select(g => g.Key + "=" + g.Count())));

        Assert.Equal(h.Apns.AcceptedCount, h.Pipeline.Metrics.FunnelCount(PushVendor.Apns, PushCategory.Im, PushFunnelSteps.Accepted));
        Assert.Equal(h.Vivo.AcceptedCount, h.Pipeline.Metrics.FunnelCount(PushVendor.Vivo, PushCategory.Im, PushFunnelSteps.Accepted));
        Assert.Equal(h.Apns.Requests.Count, h.Pipeline.Metrics.FunnelCount(PushVendor.Apns, PushCategory.Im, PushFunnelSteps.Sent));
        Assert.Equal(36, h.Pipeline.Metrics.FunnelCount(PushVendor.Apns, PushCategory.Im, PushFunnelSteps.Planned) + h.Pipeline.Metrics.FunnelCount(PushVendor.Vivo, PushCategory.Im, PushFunnelSteps.Planned));
        Assert.Equal(6, h.Sum("parley.push.funnel", ("step", "filtered"), ("reason", "muted")));
        Assert.Equal(h.Apns.AcceptedCount + h.Vivo.AcceptedCount, h.Sum("parley.push.funnel", ("step", "accepted")));

        // Arrival and click close the funnel, once each, with the trace id checked.
        var accepted = (await h.Journal.GetAsync(ids[1]))!;
        Assert.False(await h.Pipeline.ReportArrivedAsync(accepted.PushId, "wrong-trace"));
        Assert.True(await h.Pipeline.ReportClickedAsync(accepted.PushId, accepted.TraceId));
        Assert.False(await h.Pipeline.ReportClickedAsync(accepted.PushId, accepted.TraceId));
        Assert.Equal(1, h.Sum("parley.push.funnel", ("step", "arrived")));
        Assert.Equal(1, h.Sum("parley.push.funnel", ("step", "clicked")));
        var row = await h.Journal.GetAsync(accepted.PushId);
        Assert.NotNull(row!.ArrivedAt);
        Assert.NotNull(row.ClickedAt);
    }
}
