using System.Diagnostics;
using OpenTelemetry.Trace;
using Parley.Core.Telemetry;

namespace Parley.Hosting.Telemetry;

/// <summary>
/// Continues a sampled parent's trace; starts new traces only at Parley's entry points (spans tagged
/// <see cref="ParleyActivities.RootTag"/>: a client request, an arrival/click report), with the configured ratio.
/// So background grain calls and HTTP clients without a message behind them never open traces of their own.
/// </summary>
internal sealed class ParleyRootSampler(double ratio) : Sampler
{
    private readonly TraceIdRatioBasedSampler _roots = new(ratio);

    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
    {
        var parent = samplingParameters.ParentContext;
        if (parent.TraceId != default)
        {
            return new SamplingResult((parent.TraceFlags & ActivityTraceFlags.Recorded) != 0);
        }

        if (samplingParameters.Tags is { } tags)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == ParleyActivities.RootTag)
                {
                    return _roots.ShouldSample(samplingParameters);
                }
            }
        }

        return new SamplingResult(SamplingDecision.Drop);
    }
}
