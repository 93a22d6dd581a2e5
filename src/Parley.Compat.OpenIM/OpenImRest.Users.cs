using Microsoft.AspNetCore.Routing;

namespace Parley.Compat.OpenIM;

internal static partial class OpenImRest
{
    static partial void MapUsers(RouteGroupBuilder group)
    {
    }
}
