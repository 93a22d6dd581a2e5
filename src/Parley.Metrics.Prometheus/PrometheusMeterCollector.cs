using System.Buffers;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using System.Text;
using Parley.Metrics.Prometheus.Internal;

namespace Parley.Metrics.Prometheus;

/// <summary>
/// Listens to the instruments of the configured meters, aggregates their measurements per tag set and
/// writes them in the Prometheus text exposition format 0.0.4.
/// </summary>
/// <remarks>
/// Recording is lock-free: a lookup of the tag set's series (a concurrent dictionary read, with no
/// allocation for up to three tags) followed by an interlocked update. Observable instruments are
/// read at scrape time.
/// </remarks>
public sealed class PrometheusMeterCollector : IDisposable
{
    /// <summary>The content type of the text exposition format written by this collector.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly string[] _prefixes;
    private readonly int _seriesLimit;
    private readonly MeterListener _listener;
    private readonly Lock _instrumentsGate = new();
    private readonly Lock _scrapeGate = new();
    private InstrumentState[] _instruments = [];
    private long _epoch;
    private bool _disposed;

    /// <summary>Creates the collector and starts listening at once.</summary>
    public PrometheusMeterCollector(PrometheusMetricsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxSeriesPerInstrument, 1);
        _prefixes = options.MeterPrefixes.Count > 0 ? [.. options.MeterPrefixes] : [.. PrometheusMetricsOptions.DefaultMeterPrefixes];
        _seriesLimit = options.MaxSeriesPerInstrument;

        _listener = new MeterListener
        {
            InstrumentPublished = OnInstrumentPublished,
            MeasurementsCompleted = OnMeasurementsCompleted,
        };
        _listener.SetMeasurementEventCallback<long>(static (_, m, tags, state) => ((InstrumentState)state!).Record(m, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, m, tags, state) => ((InstrumentState)state!).Record(m, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, m, tags, state) => ((InstrumentState)state!).Record(m, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, m, tags, state) => ((InstrumentState)state!).Record(m, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, m, tags, state) => ((InstrumentState)state!).Record(m, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, m, tags, state) => ((InstrumentState)state!).Record(m, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, m, tags, state) => ((InstrumentState)state!).Record((double)m, tags));
        _listener.Start();
    }

    /// <summary>Whether a meter name is exported: equal to a prefix, or continuing it after a dot.</summary>
    public bool IsMeterIncluded(string meterName)
    {
        ArgumentNullException.ThrowIfNull(meterName);
        foreach (var prefix in _prefixes)
        {
            if (meterName.StartsWith(prefix, StringComparison.Ordinal)
                && (meterName.Length == prefix.Length || meterName[prefix.Length] == '.' || prefix.EndsWith('.')))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Collects observable instruments and writes every metric as UTF-8 text.</summary>
    public async Task WriteAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var text = Collect();
        var encoder = Utf8.GetEncoder();
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            foreach (var chunk in text.GetChunks())
            {
                var chars = chunk;
                while (!chars.IsEmpty)
                {
                    var take = Math.Min(chars.Length, 4 * 1024);
                    var bytes = encoder.GetBytes(chars.Span[..take], buffer, flush: false);
                    await destination.WriteAsync(buffer.AsMemory(0, bytes), cancellationToken).ConfigureAwait(false);
                    chars = chars[take..];
                }
            }
            var tail = encoder.GetBytes([], buffer, flush: true);
            if (tail > 0)
            {
                await destination.WriteAsync(buffer.AsMemory(0, tail), cancellationToken).ConfigureAwait(false);
            }
            await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Collects observable instruments and writes every metric to a text writer.</summary>
    public async Task WriteAsync(TextWriter destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var text = Collect();
        foreach (var chunk in text.GetChunks())
        {
            await destination.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
        }
        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Collects observable instruments and writes every metric as UTF-8 text, then flushes.</summary>
    public async Task WriteAsync(PipeWriter destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var text = Collect();
        var encoder = Utf8.GetEncoder();
        foreach (var chunk in text.GetChunks())
        {
            encoder.Convert(chunk.Span, destination, flush: false, out _, out _);
        }
        encoder.Convert([], destination, flush: true, out _, out _);
        await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops listening. Later writes produce empty output.</summary>
    public void Dispose()
    {
        lock (_scrapeGate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
        }
        _listener.Dispose();
        lock (_instrumentsGate)
        {
            _instruments = [];
        }
    }

    /// <summary>Reads observable instruments and renders the exposition text.</summary>
    internal StringBuilder Collect()
    {
        var sb = new StringBuilder(4096);
        lock (_scrapeGate)
        {
            if (_disposed)
            {
                return sb;
            }
            var epoch = ++_epoch;
            var instruments = Volatile.Read(ref _instruments);
            foreach (var state in instruments)
            {
                state.CurrentEpoch = epoch;
            }
            try
            {
                _listener.RecordObservableInstruments();
            }
            catch (AggregateException)
            {
                // A failing callback must not take the whole page down: the listener has still run the
                // others, and the failing instrument's series are simply not reported in this scrape.
            }
            PrometheusTextFormat.Write(sb, instruments);
        }
        return sb;
    }

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!IsMeterIncluded(instrument.Meter.Name))
        {
            return;
        }
        var state = InstrumentStateFactory.Create(instrument, _seriesLimit);
        if (state is null)
        {
            return;
        }
        lock (_instrumentsGate)
        {
            state.CurrentEpoch = Volatile.Read(ref _epoch);
            _instruments = [.. _instruments, state];
        }
        listener.EnableMeasurementEvents(instrument, state);
    }

    private void OnMeasurementsCompleted(Instrument instrument, object? state)
    {
        if (state is not InstrumentState instrumentState)
        {
            return;
        }
        lock (_instrumentsGate)
        {
            _instruments = Array.FindAll(_instruments, s => !ReferenceEquals(s, instrumentState));
        }
    }
}
