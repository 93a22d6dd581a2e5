using Microsoft.Extensions.Logging;
using Orleans;
using Parley.Abstractions.Messaging;
using Parley.Gateway.Connections;
using Parley.Core.Messaging;

namespace Parley.Compat.OpenIM.WebSocket;

/// <summary>What every OpenIM session uses: the node's registry, the core's message commands (so authorisation, validation,
/// dedup and limits are those of native clients), the grains and the store.</summary>
internal sealed record OpenImServices(
    ConnectionRegistry Registry,
    MessagingService Messaging,
    IGrainFactory Grains,
    IMessageStore Store,
    OpenImRelationNotifier RelationNotifier,
    OpenImProfiles Profiles,
    OpenImPresence Presence,
    OpenImObjectUrls ObjectUrls,
    OpenImResume Resume,
    OpenImProtocol Protocol,
    Parley.Core.Business.NotificationAccountIds Accounts,
    TimeProvider Time,
    ILogger Logger);

/// <summary>
/// Remembers the nickname and face an OpenIM sender put in its own MsgData, so messages pushed or pulled to others carry
/// them as OpenIM's do (best effort, this node only; native senders have none).
/// </summary>
internal sealed class OpenImProfiles
{
    private const int MaxProfiles = 100_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Nickname, string FaceUrl)> _profiles = new(StringComparer.Ordinal);

    public void Remember(string userId, string nickname, string faceUrl)
    {
        if (nickname.Length == 0 && faceUrl.Length == 0)
        {
            return;
        }

        if (_profiles.Count >= MaxProfiles)
        {
            _profiles.Clear();
        }

        _profiles[userId] = (nickname.Length > 256 ? nickname[..256] : nickname, faceUrl.Length > 1024 ? faceUrl[..1024] : faceUrl);
    }

    public void Fill(Wire.MsgData data)
    {
        if (data.SenderNickname.Length == 0 && _profiles.TryGetValue(data.SendID, out var profile))
        {
            data.SenderNickname = profile.Nickname;
            data.SenderFaceURL = profile.FaceUrl;
        }
    }
}
