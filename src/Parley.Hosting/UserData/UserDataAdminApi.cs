using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Parley.Api.Admin;
using Parley.Api.Admin.Operators;

namespace Parley.Hosting.UserData;

/// <summary>
/// <c>POST /admin/v1/users/{userId}/export</c> (a zip) and <c>POST /admin/v1/users/{userId}/erase</c>
/// (<c>{"confirm": userId}</c>): the per-user data export and erasure, scope <c>data</c>, both in the audit log.
/// </summary>
internal static class UserDataAdminApi
{
    public static RouteGroupBuilder MapParleyUserDataAdmin(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/admin/v1/users/{userId}").RequireParleyAdmin(OperatorScopes.Data);
        group.MapPost("/export", ExportAsync).WithName("users.export").Produces(200, contentType: "application/zip");
        group.MapPost("/erase", EraseAsync).WithName("users.erase").Produces<UserErasureSummary>();
        return group;
    }

    private static async Task<IResult> ExportAsync(HttpContext http, string userId, UserDataService data, CancellationToken cancellationToken)
    {
        AuditWriter.SetTarget(http, "user:" + userId);
        var temp = new FileStream(
            Path.Combine(Path.GetTempPath(), "parley-export-" + Guid.NewGuid().ToString("N") + ".zip"),
            FileMode.CreateNew,
            FileAccess.ReadWrite,
            FileShare.None,
            81920,
            FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            var summary = await data.ExportAsync(userId, temp, cancellationToken).ConfigureAwait(false);
            if (summary is null)
            {
                await temp.DisposeAsync().ConfigureAwait(false);
                return Fail(404, "not_found", "No such user.");
            }

            AuditWriter.SetDetail(http, $"messages={summary.Messages} conversations={summary.Conversations} media={summary.MediaObjects}");
            temp.Position = 0;

            // Results.File disposes the stream after sending it, which deletes the temp file.
            return Results.File(temp, "application/zip", $"parley-user-{userId}.zip");
        }
        catch
        {
            await temp.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static async Task<IResult> EraseAsync(HttpContext http, string userId, EraseUserRequest? request, UserDataService data, CancellationToken cancellationToken)
    {
        AuditWriter.SetTarget(http, "user:" + userId);
        if (request?.Confirm != userId)
        {
            return Fail(400, "confirmation_required", "Erasure cannot be undone: send {\"confirm\": \"<the user id>\"}.");
        }

        // Not cancelled by the caller going away: a half-run erasure would have to be run again.
        var summary = await data.EraseAsync(userId, CancellationToken.None).ConfigureAwait(false);
        if (summary is null)
        {
            return Fail(404, "not_found", "No such user.");
        }

        AuditWriter.SetDetail(http, $"messages={summary.MessagesTombstoned} devices={summary.DevicesRemoved} tokens={summary.TokensRevoked} media={summary.MediaDeleted} friends={summary.FriendsRemoved}");
        return Results.Ok(summary);
    }

    private static IResult Fail(int status, string code, string message) =>
        Results.Json(new ErrorResponse(new Parley.Api.Admin.ErrorBody(code, message)), statusCode: status);
}

/// <param name="Confirm">The user id again: erasure cannot be undone.</param>
public sealed record EraseUserRequest(string? Confirm);
