using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Parley.Core.Telemetry;
using Parley.IntegrationTests.Infrastructure;
using Parley.Protocol.V1;
using Parley.Push;

namespace Parley.IntegrationTests;

/// <summary>
/// The contract of <c>/metrics</c>: every Prometheus name and label that dashboards and alert rules use
/// (deploy/grafana, deploy/prometheus) keeps its spelling across exporter changes and refactors.
/// </summary>
[Collection(MetricsCollection.Name)]
public sealed partial class MetricNamesTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    /// <summary>
    /// Every metric family of the Parley meters ("Parley", "Parley.Push"), as Prometheus sees it; histograms also have
    /// _bucket/_sum/_count series. Adding an instrument means adding its name here (and to docs/observability.md).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> ParleyFamilies = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["parley_gateway_connections"] = "gauge",
        ["parley_gateway_handshakes_total"] = "counter",
        ["parley_gateway_kicks_total"] = "counter",
        ["parley_gateway_outbox_overflows_total"] = "counter",
        ["parley_gateway_bad_frames_total"] = "counter",
        ["parley_gateway_request_failures_total"] = "counter",
        ["parley_rate_limited_total"] = "counter",
        ["parley_webhook_calls_total"] = "counter",
        ["parley_webhook_duration_seconds"] = "histogram",
        ["parley_webhook_failures_total"] = "counter",
        ["parley_webhook_deliveries_total"] = "counter",
        ["parley_webhook_outbox_pending"] = "gauge",
        ["parley_webhook_outbox_dead_letters"] = "gauge",
        ["parley_messages_accepted_total"] = "counter",
        ["parley_messages_duplicates_total"] = "counter",
        ["parley_direct_grains_registered_total"] = "counter",
        ["parley_direct_grains_shed_total"] = "counter",
        ["parley_direct_grains_kept_busy_total"] = "counter",
        ["parley_conversation_deactivations_waited_total"] = "counter",
        ["parley_direct_shed_activations_total"] = "counter",
        ["parley_direct_shed_puts_total"] = "counter",
        ["parley_direct_shed_size_bytes"] = "gauge",
        ["parley_delivery_frames_total"] = "counter",
        ["parley_send_ack_duration_seconds"] = "histogram",
        ["parley_send_hop_duration_seconds"] = "histogram",
        ["parley_send_unanswered_total"] = "counter",
        ["parley_send_busy_total"] = "counter",
        ["parley_send_outstanding"] = "gauge",
        ["parley_send_outstanding_limit"] = "gauge",
        ["parley_send_server_duration_seconds"] = "histogram",
        ["parley_send_slow_total"] = "counter",
        ["parley_send_slow_time_seconds_total"] = "counter",
        ["parley_storage_sqlite_queue_wait_seconds"] = "histogram",
        ["parley_storage_sqlite_transaction_duration_seconds"] = "histogram",
        ["parley_storage_sqlite_commit_duration_seconds"] = "histogram",
        ["parley_storage_sqlite_checkpoint_duration_seconds"] = "histogram",
        ["parley_storage_sqlite_background_duration_seconds"] = "histogram",
        ["parley_storage_sqlite_background_deferred_total"] = "counter",
        ["parley_storage_sqlite_search_segments"] = "gauge",
        ["parley_store_batch_size"] = "histogram",
        ["parley_store_commit_duration_seconds"] = "histogram",
        ["parley_store_commit_failures_total"] = "counter",
        ["parley_storage_disk_available_bytes"] = "gauge",
        ["parley_storage_disk_capacity_bytes"] = "gauge",
        ["parley_storage_database_size_bytes"] = "gauge",
        ["parley_push_stage_passed_total"] = "counter",
        ["parley_push_stage_dropped_total"] = "counter",
        ["parley_push_funnel_total"] = "counter",
        ["parley_push_vendor_results_total"] = "counter",
        ["parley_push_vendor_duration_seconds"] = "histogram",
        ["parley_push_tokens_invalidated_total"] = "counter",
        ["parley_push_config_alarms_total"] = "counter",
        ["parley_push_dead_letters_total"] = "counter",
        ["parley_push_retries_total"] = "counter",
        ["parley_push_auth_refreshes_total"] = "counter",
        ["parley_push_lane_depth"] = "gauge",
    };

    /// <summary>Families of the platform meters that the dashboards use: Orleans, ASP.NET Core, Kestrel, the runtime.</summary>
    public static readonly IReadOnlyList<string> PlatformFamilies =
    [
        "http_server_request_duration_seconds",
        "kestrel_active_connections",
        "kestrel_connection_duration_seconds",
        "dotnet_gc_collections_total",
        "dotnet_process_memory_working_set_bytes",
        "dotnet_exceptions_total",
        "orleans_grains",
    ];

    private TestServer Server => fixture.Server;

    [Fact]
    public async Task EveryParleyInstrument_IsExportedUnderItsDashboardName_AndNothingElse()
    {
        // Counters appear once they have a series: give every instrument one (a zero for counters).
        Instruments.TouchAll(Server.Services.GetRequiredService<ParleyMetrics>());
        Instruments.TouchAll(Server.Services.GetRequiredService<PushMetrics>());
        Instruments.TouchMeter("Parley.Storage.Sqlite");

        // The 1:1 grain queue's counters are observed from its creation (with the first conversation grain): create it,
        Server.Services.GetRequiredService<Parley.Core.Messaging.IdleDirectConversations>();
        Server.Services.GetRequiredService<Parley.Core.Messaging.ShedDirectConversations>(); // and the shed cache's (ADR 0033)

        var families = Families(await ScrapeAsync());
        var parley = families.Where(f => f.Key.StartsWith("parley_", StringComparison.Ordinal)).ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
        Assert.Equal(ParleyFamilies.OrderBy(f => f.Key, StringComparer.Ordinal), parley.OrderBy(f => f.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task LabelsOfRealTraffic_AndPlatformMeters_AreExported()
    {
        var alice = await Server.CreateUserAsync("alice");
        var bob = await Server.CreateUserAsync("bob");
        var client = await Server.ConnectAsync(alice);
        await client.SendTextAsync(bob, "label me");
        await using var raw = await RawClient.ConnectAsync(Server.WebSocketUri);
        await raw.HelloAsync(await Server.IssueTokenAsync(bob, "raw"), "raw");
        await raw.SendBytesAsync([0xFF, 0xFF, 0xFF]);

        string text = "";
        await Wait.UntilAsync(
            () =>
            {
                text = ScrapeAsync().GetAwaiter().GetResult();
                return text.Contains("parley_gateway_bad_frames_total{", StringComparison.Ordinal);
            },
            "the malformed frame was counted");

        Assert.Matches(@"(?m)^parley_gateway_handshakes_total\{[^}]*result=""ok""[^}]*\} [1-9]\d*", text);
        Assert.Matches(@"(?m)^parley_gateway_bad_frames_total\{[^}]*reason=""malformed""[^}]*\} [1-9]\d*", text);
        Assert.Matches(@"(?m)^parley_messages_accepted_total(\{[^}]*\})? [1-9]\d*", text);
        Assert.Matches(@"(?m)^parley_send_ack_duration_seconds_bucket\{[^}]*le=""0.001""[^}]*\} \d+", text);
        Assert.Matches(@"(?m)^parley_store_batch_size_bucket\{[^}]*le=""1""[^}]*\} \d+", text);
        Assert.Matches(@"(?m)^parley_push_lane_depth\{[^}]*lane=""im""[^}]*\} \d+", text);
        var families = Families(text);
        Assert.All(PlatformFamilies, name => Assert.True(families.ContainsKey(name), $"/metrics lacks {name}"));
        Assert.DoesNotContain("label me", text, StringComparison.Ordinal);
    }

    private async Task<string> ScrapeAsync()
    {
        using var anonymous = new HttpClient { BaseAddress = Server.BaseUri };
        return await anonymous.GetStringAsync("/metrics");
    }

    /// <summary>Family name → type, from the "# TYPE" lines.</summary>
    internal static Dictionary<string, string> Families(string exposition) =>
        TypeLine().Matches(exposition).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value, StringComparer.Ordinal);

    [GeneratedRegex(@"(?m)^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$")]
    private static partial Regex TypeLine();
}
