using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Text;

namespace Parley.Metrics.Prometheus.Tests;

public class PrometheusMeterCollectorTests
{
    [Fact]
    public async Task Counter_SeveralTagSets_TotalsPerTagSet()
    {
        using var t = new TestMeter();
        var counter = t.Meter.CreateCounter<long>("parley.messages.sent", "{message}", "Messages sent.");
        counter.Add(1, new KeyValuePair<string, object?>("kind", "text"));
        counter.Add(2, new KeyValuePair<string, object?>("kind", "text"));
        counter.Add(5, new KeyValuePair<string, object?>("kind", "image"));
        counter.Add(7);

        Assert.Equal(
            "# HELP parley_messages_sent_total Messages sent.\n" +
            "# TYPE parley_messages_sent_total counter\n" +
            "parley_messages_sent_total 7\n" +
            "parley_messages_sent_total{kind=\"image\"} 5\n" +
            "parley_messages_sent_total{kind=\"text\"} 3\n",
            await t.ScrapeAsync());
    }

    [Fact]
    public async Task Counter_TagOrderDiffers_SameSeries()
    {
        using var t = new TestMeter();
        var counter = t.Meter.CreateCounter<double>("ops");
        counter.Add(1.5, new("b", 2), new("a", "x"), new("c", true));
        counter.Add(1, new("c", true), new("a", "x"), new("b", 2));
        counter.Add(0.25, new("a", "x"), new("b", 2), new("c", true));

        Assert.Equal(
            "# TYPE ops_total counter\n" +
            "ops_total{a=\"x\",b=\"2\",c=\"true\"} 2.75\n",
            await t.ScrapeAsync());
    }

    [Fact]
    public async Task Counter_MoreThanThreeTags_SortedLabels()
    {
        using var t = new TestMeter();
        var counter = t.Meter.CreateCounter<int>("wide");
        KeyValuePair<string, object?>[] tags = [new("e", 5), new("d", 4), new("c", 3), new("b", 2), new("a", 1)];
        counter.Add(1, tags);
        counter.Add(2, [.. tags.Reverse()]);

        Assert.Equal(
            "# TYPE wide_total counter\n" +
            "wide_total{a=\"1\",b=\"2\",c=\"3\",d=\"4\",e=\"5\"} 3\n",
            await t.ScrapeAsync());
    }

    [Fact]
    public async Task Histogram_AdvisedBoundaries_CumulativeBucketsSumAndCount()
    {
        using var t = new TestMeter();
        var histogram = t.Meter.CreateHistogram<double>(
            "parley.send.duration", "s", "Send time.", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1, 10] });
        foreach (var value in new[] { 0.05, 0.1, 0.5, 2, 20, 30 })
        {
            histogram.Record(value, new KeyValuePair<string, object?>("route", "dm"));
        }

        Assert.Equal(
            "# HELP parley_send_duration_seconds Send time.\n" +
            "# TYPE parley_send_duration_seconds histogram\n" +
            "parley_send_duration_seconds_bucket{route=\"dm\",le=\"0.1\"} 2\n" +
            "parley_send_duration_seconds_bucket{route=\"dm\",le=\"1\"} 3\n" +
            "parley_send_duration_seconds_bucket{route=\"dm\",le=\"10\"} 4\n" +
            "parley_send_duration_seconds_bucket{route=\"dm\",le=\"+Inf\"} 6\n" +
            "parley_send_duration_seconds_sum{route=\"dm\"} 52.65\n" +
            "parley_send_duration_seconds_count{route=\"dm\"} 6\n",
            await t.ScrapeAsync());
    }

    [Fact]
    public async Task Histogram_NoAdvice_DefaultBoundariesByUnit()
    {
        using var t = new TestMeter();
        t.Meter.CreateHistogram<double>("a.duration", "s").Record(0.003);
        t.Meter.CreateHistogram<long>("b.duration", "ms").Record(3);

        var text = await t.ScrapeAsync();

        Assert.Contains("a_duration_seconds_bucket{le=\"0.005\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("a_duration_seconds_bucket{le=\"10\"} 1\na_duration_seconds_bucket{le=\"+Inf\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("b_duration_milliseconds_bucket{le=\"0\"} 0\nb_duration_milliseconds_bucket{le=\"5\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("b_duration_milliseconds_bucket{le=\"10000\"} 1\nb_duration_milliseconds_bucket{le=\"+Inf\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("b_duration_milliseconds_sum 3\nb_duration_milliseconds_count 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ObservableInstruments_CollectedAtEachScrape()
    {
        using var t = new TestMeter();
        var calls = 0;
        t.Meter.CreateObservableGauge("parley.connections", () =>
        {
            calls++;
            return new[]
            {
                new Measurement<int>(calls * 10, new KeyValuePair<string, object?>("node", "a")),
                new Measurement<int>(calls, new KeyValuePair<string, object?>("node", "b")),
            };
        }, "{connection}", "Open connections.");
        t.Meter.CreateObservableCounter("parley.bytes.in", () => 1024.5, "By");
        t.Meter.CreateObservableUpDownCounter("parley.queue.depth", () => (long)-3);

        Assert.Equal(0, calls);
        var first = await t.ScrapeAsync();
        var second = await t.ScrapeAsync();

        Assert.Equal(2, calls);
        Assert.Contains("parley_connections{node=\"a\"} 10\nparley_connections{node=\"b\"} 1\n", first, StringComparison.Ordinal);
        Assert.Equal(
            "# TYPE parley_bytes_in_bytes_total counter\n" +
            "parley_bytes_in_bytes_total 1024.5\n" +
            "# HELP parley_connections Open connections.\n" +
            "# TYPE parley_connections gauge\n" +
            "parley_connections{node=\"a\"} 20\n" +
            "parley_connections{node=\"b\"} 2\n" +
            "# TYPE parley_queue_depth gauge\n" +
            "parley_queue_depth -3\n",
            second);
    }

    [Fact]
    public async Task ObservableGauge_SeriesNoLongerReported_Omitted()
    {
        using var t = new TestMeter();
        var report = true;
        t.Meter.CreateObservableGauge("rooms", () => report
            ? [new Measurement<long>(4, new KeyValuePair<string, object?>("room", "r1"))]
            : Array.Empty<Measurement<long>>());

        Assert.Contains("rooms{room=\"r1\"} 4\n", await t.ScrapeAsync(), StringComparison.Ordinal);
        report = false;
        Assert.Equal("# TYPE rooms gauge\n", await t.ScrapeAsync());
    }

    [Fact]
    public async Task GaugeAndUpDownCounter_GaugeType()
    {
        using var t = new TestMeter();
        var gauge = t.Meter.CreateGauge<double>("cpu.usage", "1");
        gauge.Record(0.5);
        gauge.Record(0.25);
        var upDown = t.Meter.CreateUpDownCounter<long>("sessions.active", "{session}");
        upDown.Add(5);
        upDown.Add(-2);

        Assert.Equal(
            "# TYPE cpu_usage_ratio gauge\n" +
            "cpu_usage_ratio 0.25\n" +
            "# TYPE sessions_active gauge\n" +
            "sessions_active 3\n",
            await t.ScrapeAsync());
    }

    [Fact]
    public async Task LabelValuesAndHelp_Escaped()
    {
        using var t = new TestMeter();
        var counter = t.Meter.CreateCounter<long>("escapes", null, "Line one\nback\\slash \"quoted\"");
        counter.Add(1, new KeyValuePair<string, object?>("v", "a\\b\"c\nd"));

        Assert.Equal(
            "# HELP escapes_total Line one\\nback\\\\slash \"quoted\"\n" +
            "# TYPE escapes_total counter\n" +
            "escapes_total{v=\"a\\\\b\\\"c\\nd\"} 1\n",
            await t.ScrapeAsync());
    }

    [Fact]
    public async Task Names_Sanitised()
    {
        using var t = new TestMeter();
        t.Meter.CreateCounter<long>("http.server-requests", "{request}").Add(1, new KeyValuePair<string, object?>("http.method", "GET"), new KeyValuePair<string, object?>("2xx", "yes"));
        t.Meter.CreateCounter<long>("net.bytes_total", "By").Add(2);
        t.Meter.CreateCounter<long>("9lives").Add(3);
        t.Meter.CreateUpDownCounter<long>("memory.used", "By").Add(4);
        t.Meter.CreateCounter<double>("cpu.time", "s").Add(0.5);
        t.Meter.CreateObservableGauge("rate", () => 1.0, "By/s");

        Assert.Equal(
            "# TYPE _9lives_total counter\n" +
            "_9lives_total 3\n" +
            "# TYPE cpu_time_seconds_total counter\n" +
            "cpu_time_seconds_total 0.5\n" +
            "# TYPE http_server_requests_total counter\n" +
            "http_server_requests_total{http_method=\"GET\",key_2xx=\"yes\"} 1\n" +
            "# TYPE memory_used_bytes gauge\n" +
            "memory_used_bytes 4\n" +
            "# TYPE net_bytes_total counter\n" +
            "net_bytes_total 2\n" +
            "# TYPE rate_bytes_per_second gauge\n" +
            "rate_bytes_per_second 1\n",
            await t.ScrapeAsync());
    }

    [Fact]
    public async Task MetersOutsidePrefixes_Ignored()
    {
        using var t = new TestMeter();
        using var sub = new Meter(t.Name + ".Gateway");
        using var lookalike = new Meter(t.Name + "Other");
        using var other = new Meter("Elsewhere" + Guid.NewGuid().ToString("N"));
        sub.CreateCounter<long>("included").Add(1);
        lookalike.CreateCounter<long>("lookalike").Add(1);
        other.CreateCounter<long>("other").Add(1);

        Assert.Equal("# TYPE included_total counter\nincluded_total 1\n", await t.ScrapeAsync());
        Assert.True(t.Collector.IsMeterIncluded(t.Name));
        Assert.False(t.Collector.IsMeterIncluded(lookalike.Name));
    }

    [Fact]
    public async Task MeterDisposed_InstrumentsRemoved()
    {
        using var t = new TestMeter();
        var meter = new Meter(t.Name + ".Temp");
        meter.CreateCounter<long>("temp").Add(1);
        Assert.Contains("temp_total 1\n", await t.ScrapeAsync(), StringComparison.Ordinal);

        meter.Dispose();

        Assert.Equal("", await t.ScrapeAsync());
    }

    [Fact]
    public async Task ConcurrentRecording_SeveralThreads_SumsExactly()
    {
        using var t = new TestMeter();
        var counter = t.Meter.CreateCounter<long>("hits");
        var doubles = t.Meter.CreateCounter<double>("work", "s");
        var histogram = t.Meter.CreateHistogram<long>("size", "By", null, null,
            new InstrumentAdvice<long> { HistogramBucketBoundaries = [10, 100] });
        const int threads = 4;
        const int perThread = 50_000;
        using var start = new Barrier(threads);

        var workers = Enumerable.Range(0, threads).Select(n => Task.Factory.StartNew(() =>
        {
            var shard = new KeyValuePair<string, object?>("shard", n % 2);
            start.SignalAndWait();
            for (var i = 0; i < perThread; i++)
            {
                counter.Add(1, shard);
                counter.Add(1);
                doubles.Add(0.5);
                histogram.Record(i % 200, shard);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromMinutes(1));

        var text = await t.ScrapeAsync();
        Assert.Contains("hits_total 200000\nhits_total{shard=\"0\"} 100000\nhits_total{shard=\"1\"} 100000\n", text, StringComparison.Ordinal);
        Assert.Contains("work_seconds_total 100000\n", text, StringComparison.Ordinal);
        // Per thread: values 0..199 repeated 250 times; 11 are <= 10, 101 are <= 100.
        Assert.Contains("size_bytes_bucket{shard=\"0\",le=\"10\"} 5500\n", text, StringComparison.Ordinal);
        Assert.Contains("size_bytes_bucket{shard=\"0\",le=\"100\"} 50500\n", text, StringComparison.Ordinal);
        Assert.Contains("size_bytes_bucket{shard=\"0\",le=\"+Inf\"} 100000\n", text, StringComparison.Ordinal);
        Assert.Contains("size_bytes_sum{shard=\"0\"} 9950000\nsize_bytes_count{shard=\"0\"} 100000\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SeriesLimit_Exceeded_OverflowSeries()
    {
        using var t = new TestMeter(maxSeries: 2);
        var counter = t.Meter.CreateCounter<long>("users");
        for (var i = 0; i < 5; i++)
        {
            counter.Add(1, new KeyValuePair<string, object?>("user", i));
        }

        Assert.Equal(
            "# TYPE users_total counter\n" +
            "users_total{otel_metric_overflow=\"true\"} 3\n" +
            "users_total{user=\"0\"} 1\n" +
            "users_total{user=\"1\"} 1\n",
            await t.ScrapeAsync());
    }

    [Fact]
    public async Task WriteAsync_StreamAndPipeWriter_SameUtf8AsTextWriter()
    {
        using var t = new TestMeter();
        t.Meter.CreateCounter<long>("greetings").Add(1, new KeyValuePair<string, object?>("text", "héllo ✓ 🎉"));

        var expected = await t.ScrapeAsync();
        using var stream = new MemoryStream();
        await t.Collector.WriteAsync(stream);
        var pipe = new Pipe();
        await t.Collector.WriteAsync(pipe.Writer);
        await pipe.Writer.CompleteAsync();
        var read = await pipe.Reader.ReadAtLeastAsync(int.MaxValue);

        Assert.Contains("{text=\"héllo ✓ 🎉\"} 1\n", expected, StringComparison.Ordinal);
        Assert.Equal(expected, Encoding.UTF8.GetString(stream.ToArray()));
        Assert.Equal(expected, Encoding.UTF8.GetString(read.Buffer));
    }

    [Fact]
    public async Task Record_ExistingSeriesUpToThreeTags_AllocatesNothing()
    {
        using var t = new TestMeter();
        var counter = t.Meter.CreateCounter<long>("hot");
        var histogram = t.Meter.CreateHistogram<double>("hot.duration", "s");
        var a = new KeyValuePair<string, object?>("a", "1");
        var b = new KeyValuePair<string, object?>("b", "2");
        var c = new KeyValuePair<string, object?>("c", "3");
        void RecordAll()
        {
            counter.Add(1);
            counter.Add(1, a);
            counter.Add(1, a, b);
            counter.Add(1, c, b, a);
            histogram.Record(0.2, a, b, c);
        }
        RecordAll();

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            RecordAll();
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Contains("hot_total{a=\"1\",b=\"2\",c=\"3\"} 1001\n", await t.ScrapeAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ObservableCallbackThrows_OtherMetricsStillWritten()
    {
        using var t = new TestMeter();
        t.Meter.CreateObservableGauge<long>("broken", new Func<long>(() => throw new InvalidOperationException("boom")));
        t.Meter.CreateObservableGauge("fine", () => 1L);
        t.Meter.CreateCounter<long>("plain").Add(2);

        Assert.Equal(
            "# TYPE broken gauge\n" +
            "# TYPE fine gauge\n" +
            "fine 1\n" +
            "# TYPE plain_total counter\n" +
            "plain_total 2\n",
            await t.ScrapeAsync());
    }
}
