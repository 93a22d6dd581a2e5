using Parley.Compat.OpenIM.Wire;
using Parley.Protocol.V1;

namespace Parley.Compat.OpenIM;

internal static partial class OpenImNotifications
{
    private static partial MsgData? FromGroupContentCore(Message message) => null;
}
