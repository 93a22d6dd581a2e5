using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Push;
using Parley.Api.Admin.Operators;

namespace Parley.Api.Admin;

/// <summary>
/// A user's push devices in the device registry (docs/admin.md): vendor, platform, app, notification state, last seen and
/// whether the vendor declared the token invalid; never the token. Removing a registration stops offline pushes to the
/// device until its app registers again; signing the device out (<c>POST /users/{id}/logout</c> with its device id)
/// revokes its tokens so it cannot.
/// </summary>
public static partial class AdminApi
{
    private static void MapDevices(RouteGroupBuilder users)
    {
        users.MapGet("/{userId}/devices", ListDevicesAsync).WithName("users.devices.list");
        users.MapDelete("/{userId}/devices/{deviceId}", RemoveDeviceAsync).WithName("users.devices.remove");
    }

    private static async Task<IResult> ListDevicesAsync(string userId, IAccountStore accounts, IDeviceStore devices)
    {
        if (await accounts.GetUserAsync(userId).ConfigureAwait(false) is null)
        {
            return Fail(404, "not_found", "No such user.");
        }

        var rows = await devices.ListAsync([userId]).ConfigureAwait(false);
        var items = rows
            .OrderByDescending(d => d.LastSeenAt)
            .ThenBy(d => d.DeviceId, StringComparer.Ordinal)
            .Select(d => new AdminDevice(
                d.DeviceId,
                d.Platform,
                // The enum's names are the vendors' wire names in lower case (apns, fcm, ..., webpush).
#pragma warning disable CA1308 // lower case is the documented vendor name
                d.Vendor.ToString().ToLowerInvariant(),
#pragma warning restore CA1308
                d.AppId,
                d.Environment == PushEnvironment.Sandbox ? "sandbox" : "production",
                d.NotificationsEnabled,
                d.Locale,
                d.TimeZone,
                d.RegisteredAt,
                d.LastSeenAt,
                d.TokenInvalidAt))
            .ToList();
        return Results.Ok(new AdminDeviceList(userId, items));
    }

    private static async Task<IResult> RemoveDeviceAsync(HttpContext http, string userId, string deviceId, IDeviceStore devices)
    {
        AuditWriter.SetTarget(http, $"device:{userId}/{deviceId}");
        return await devices.RemoveAsync(userId, deviceId).ConfigureAwait(false)
            ? Results.NoContent()
            : Fail(404, "not_found", "No such device registration.");
    }
}

/// <summary>A user's registered push devices, most recently seen first.</summary>
public sealed record AdminDeviceList(string UserId, IReadOnlyList<AdminDevice> Items);

/// <summary>One push registration as the console shows it (the vendor token is never returned).</summary>
/// <param name="TokenInvalidAt">Unix ms when the vendor declared the token invalid (the device gets no pushes until it registers a new one), or null.</param>
public sealed record AdminDevice(
    string DeviceId,
    string Platform,
    string Vendor,
    string AppId,
    string Environment,
    bool NotificationsEnabled,
    string Locale,
    string TimeZone,
    long RegisteredAt,
    long LastSeenAt,
    long? TokenInvalidAt);
