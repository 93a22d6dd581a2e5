using Microsoft.Extensions.Logging;
using Orleans;
using Parley.Abstractions.Messaging;
using Parley.Gateway.Connections;
using Parley.Gateway.Requests;

namespace Parley.Compat.OpenIM.WebSocket;

/// <summary>What every OpenIM session uses: the node's registry, the native request handler (so authorisation, validation,
/// dedup and limits are those of native clients), the grains and the store.</summary>
internal sealed record OpenImServices(
    ConnectionRegistry Registry,
    RequestHandler Handler,
    IGrainFactory Grains,
    IMessageStore Store,
    OpenImRelationNotifier? RelationNotifier,
    TimeProvider Time,
    ILogger Logger,
    int TypingPerSecond);
