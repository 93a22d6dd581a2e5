using Parley.Core.Delivery;
using Parley.Core.Social;

namespace Parley.Compat.OpenIM;

/// <summary>
/// A profile changed outside the user's own OpenIM session (Parley's admin API, an erasure): a <see cref="ProfileChanged"/>
/// event to the user's connections through the delivery hub, which in a cluster forwards it to every node (as typing and
/// relation changes travel). The OpenIM protocol encodes it as 1303 UserInfoUpdatedNotification, so the SDK re-reads the
/// profile and raises <c>OnSelfInfoUpdated</c>, as after a change made through <c>/user/update_user_info</c>.
/// </summary>
internal sealed class OpenImProfileNotifier(IDeliveryHub hub) : IProfileChangeObserver
{
    public void OnProfileChanged(string userId) => hub.PublishEphemeral([userId], new ProfileChanged(userId, null), null);
}
