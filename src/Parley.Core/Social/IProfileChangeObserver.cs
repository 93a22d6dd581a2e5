namespace Parley.Core.Social;

/// <summary>
/// Hears that a user's profile (nickname, avatar, ex) was changed by someone other than the user's own client (the admin
/// API, an erasure), so edges can tell the user's live sessions (the OpenIM edge pushes its 1303 notification). Called
/// on the changing request; must not block. Only this node's sessions are told.
/// </summary>
public interface IProfileChangeObserver
{
    void OnProfileChanged(string userId);
}
