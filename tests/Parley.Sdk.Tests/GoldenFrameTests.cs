using System.Text.Json;
using Google.Protobuf;
using Parley.Protocol.V1;

namespace Parley.Sdk.Tests;

/// <summary>
/// The golden frames in <c>protocol/golden/v1/frames.json</c> are shared with the TypeScript SDK's tests: every frame's
/// protobuf JSON must encode to its golden bytes and the bytes must decode to the same frame.
/// </summary>
public sealed class GoldenFrameTests
{
    public static TheoryData<string> FrameNames()
    {
        var data = new TheoryData<string>();
        foreach (var frame in Load())
        {
            data.Add(frame.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FrameNames))]
    public void GoldenFrame_EncodesAndDecodes_SameBytes(string name)
    {
        var frame = Load().Single(f => f.Name == name);
        var expected = Convert.FromHexString(frame.Hex);
        IMessage parsed = frame.Type switch
        {
            "ClientFrame" => JsonParser.Default.Parse<ClientFrame>(frame.Json),
            "ServerFrame" => JsonParser.Default.Parse<ServerFrame>(frame.Json),
            _ => throw new InvalidOperationException($"Unknown frame type {frame.Type}."),
        };
        Assert.Equal(Convert.ToHexStringLower(expected), Convert.ToHexStringLower(parsed.ToByteArray()));
        IMessage decoded = frame.Type == "ClientFrame" ? ClientFrame.Parser.ParseFrom(expected) : ServerFrame.Parser.ParseFrom(expected);
        Assert.Equal(parsed, decoded);
    }

    [Fact]
    public void GoldenFrames_CoverClientAndServerFrames()
    {
        var frames = Load();
        Assert.Contains(frames, f => f.Type == "ClientFrame");
        Assert.Contains(frames, f => f.Type == "ServerFrame");
        Assert.Equal(frames.Count, frames.Select(f => f.Name).Distinct().Count());
    }

    private sealed record GoldenFrame(string Name, string Type, string Json, string Hex);

    private static List<GoldenFrame> Load()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Parley.slnx")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory.FullName, "protocol", "golden", "v1", "frames.json")));
        return [.. document.RootElement.GetProperty("frames").EnumerateArray().Select(f => new GoldenFrame(
            f.GetProperty("name").GetString()!,
            f.GetProperty("type").GetString()!,
            f.GetProperty("json").GetRawText(),
            f.GetProperty("hex").GetString()!))];
    }
}
