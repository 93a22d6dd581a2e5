using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Parley.Abstractions.Accounts;
using Parley.Abstractions.Directory;
using Parley.Api.Admin;
using Parley.Api.Admin.Operators;
using Parley.Core;
using Parley.OrgDirectory.Import;
using Parley.Protocol;

namespace Parley.OrgDirectory.Admin;

/// <summary>The directory admin API under <c>/admin/v1/directory</c>, protected by the admin secret.</summary>
public static class DirectoryAdminApi
{
    public static RouteGroupBuilder MapParleyDirectoryAdmin(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/admin/v1/directory")
            .RequireParleyAdmin(OperatorScopes.Directory)
            .AddEndpointFilter(RequireEnabledAsync);
        group.MapGet("", GetTreeAsync);
        group.MapPost("/departments", CreateDepartmentAsync);
        group.MapPatch("/departments/{departmentId}", UpdateDepartmentAsync);
        group.MapPost("/departments/{departmentId}/move", MoveDepartmentAsync);
        group.MapDelete("/departments/{departmentId}", DeleteDepartmentAsync);
        group.MapPost("/departments/{departmentId}/members", AddMemberAsync);
        group.MapPatch("/departments/{departmentId}/members/{userId}", UpdateMemberAsync);
        group.MapDelete("/departments/{departmentId}/members/{userId}", RemoveMemberAsync);
        group.MapPost("/imports", StartImportAsync)
            .WithMetadata(new BodyLimitMetadata(http => http.RequestServices.GetRequiredService<IOptions<DirectoryOptions>>().Value.MaxImportBytes));
        group.MapGet("/imports/{jobId}", GetImport);
        return group;
    }

    private static async ValueTask<object?> RequireEnabledAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        context.HttpContext.RequestServices.GetRequiredService<IOptions<DirectoryOptions>>().Value.Enabled
            ? await next(context).ConfigureAwait(false)
            : Fail(404, "directory_disabled", "The organisation directory is disabled (Parley:Directory:Enabled).");

    private static async Task<IResult> GetTreeAsync(IDirectoryStore store, CancellationToken cancellationToken)
    {
        var all = await store.GetChangesAsync(0, cancellationToken).ConfigureAwait(false);
        var membersByDepartment = all.Members.ToLookup(m => m.DepartmentId, StringComparer.Ordinal);
        var childrenByParent = all.Departments.ToLookup(d => d.ParentId, StringComparer.Ordinal);

        List<DepartmentNode> Build(string parentId) =>
        [
            .. childrenByParent[parentId]
                .OrderBy(d => d.Order).ThenBy(d => d.DepartmentId, StringComparer.Ordinal)
                .Select(d => new DepartmentNode(
                    d.DepartmentId,
                    d.ParentId,
                    d.Name,
                    d.Order,
                    ParseEx(d.Ex),
                    [.. membersByDepartment[d.DepartmentId].OrderBy(m => m.Order).ThenBy(m => m.UserId, StringComparer.Ordinal).Select(MemberBody.From)],
                    Build(d.DepartmentId))),
        ];

        return Results.Ok(new TreeResponse(all.Version, Build(string.Empty)));
    }

    private static async Task<IResult> CreateDepartmentAsync(CreateDepartmentRequest request, DirectoryWriter writer, CancellationToken cancellationToken)
    {
        var id = string.IsNullOrEmpty(request.DepartmentId) ? Guid.NewGuid().ToString("N") : request.DepartmentId;
        var invalid = ValidateDepartment(id, request.ParentId, request.Name, request.Ex, nameRequired: true);
        if (invalid is not null)
        {
            return invalid;
        }

        var record = new DepartmentRecord(id, request.ParentId ?? string.Empty, request.Name!.Trim(), request.Order ?? 0, NormalizeEx(request.Ex));
        var result = await writer.ApplyAsync([new SaveDepartment(record, DirectorySaveMode.Create)], cancellationToken: cancellationToken).ConfigureAwait(false);
        return Outcome(result, () => Results.Created($"/admin/v1/directory/departments/{id}", new DepartmentResponse(result.Version, DepartmentBody.From(record))));
    }

    private static async Task<IResult> UpdateDepartmentAsync(string departmentId, UpdateDepartmentRequest request, DirectoryWriter writer, CancellationToken cancellationToken)
    {
        var invalid = ValidateDepartment(departmentId, request.ParentId, request.Name, request.Ex, nameRequired: false);
        if (invalid is not null)
        {
            return invalid;
        }

        var change = new UpdateDepartment(departmentId, request.ParentId, request.Name?.Trim(), request.Order, request.Ex is null ? null : NormalizeEx(request.Ex));
        var result = await writer.ApplyAsync([change], cancellationToken: cancellationToken).ConfigureAwait(false);
        return Outcome(result, () => Results.Ok(new VersionResponse(result.Version)));
    }

    private static async Task<IResult> MoveDepartmentAsync(string departmentId, MoveDepartmentRequest request, DirectoryWriter writer, CancellationToken cancellationToken)
    {
        var invalid = ValidateDepartment(departmentId, request.ParentId ?? string.Empty, null, null, nameRequired: false);
        if (invalid is not null)
        {
            return invalid;
        }

        var result = await writer.ApplyAsync([new UpdateDepartment(departmentId, request.ParentId ?? string.Empty, Order: request.Order)], cancellationToken: cancellationToken).ConfigureAwait(false);
        return Outcome(result, () => Results.Ok(new VersionResponse(result.Version)));
    }

    private static async Task<IResult> DeleteDepartmentAsync(string departmentId, bool? cascade, DirectoryWriter writer, CancellationToken cancellationToken)
    {
        var result = await writer.ApplyAsync([new DeleteDepartment(departmentId, cascade ?? false)], cancellationToken: cancellationToken).ConfigureAwait(false);
        return Outcome(result, () => Results.Ok(new VersionResponse(result.Version)));
    }

    private static async Task<IResult> AddMemberAsync(string departmentId, AddMemberRequest request, DirectoryWriter writer, IAccountStore accounts, CancellationToken cancellationToken)
    {
        if (!Ids.IsValid(request.UserId))
        {
            return Fail(400, "bad_request", "userId must be 1..64 characters of [A-Za-z0-9-._@:].");
        }

        var invalid = ValidateMember(request.Position, request.Email, request.Phone, request.Ex);
        if (invalid is not null)
        {
            return invalid;
        }

        if (await accounts.GetUserAsync(request.UserId, cancellationToken).ConfigureAwait(false) is null)
        {
            return Fail(404, "user_not_found", $"No user '{request.UserId}'.");
        }

        var record = new DepartmentMemberRecord(
            departmentId, request.UserId, request.Position ?? string.Empty, request.Order ?? 0, request.Email ?? string.Empty, request.Phone ?? string.Empty, NormalizeEx(request.Ex));
        var result = await writer.ApplyAsync([new SaveMember(record, DirectorySaveMode.Create)], cancellationToken: cancellationToken).ConfigureAwait(false);
        return Outcome(result, () => Results.Created($"/admin/v1/directory/departments/{departmentId}/members/{request.UserId}", new MemberResponse(result.Version, MemberBody.From(record))));
    }

    private static async Task<IResult> UpdateMemberAsync(string departmentId, string userId, UpdateMemberRequest request, DirectoryWriter writer, CancellationToken cancellationToken)
    {
        var invalid = ValidateMember(request.Position, request.Email, request.Phone, request.Ex);
        if (invalid is not null)
        {
            return invalid;
        }

        var change = new UpdateMember(departmentId, userId, request.Position, request.Order, request.Email, request.Phone, request.Ex is null ? null : NormalizeEx(request.Ex));
        var result = await writer.ApplyAsync([change], cancellationToken: cancellationToken).ConfigureAwait(false);
        return Outcome(result, () => Results.Ok(new VersionResponse(result.Version)));
    }

    private static async Task<IResult> RemoveMemberAsync(string departmentId, string userId, DirectoryWriter writer, CancellationToken cancellationToken)
    {
        var result = await writer.ApplyAsync([new RemoveMember(departmentId, userId)], cancellationToken: cancellationToken).ConfigureAwait(false);
        return Outcome(result, () => Results.Ok(new VersionResponse(result.Version)));
    }

    private static async Task<IResult> StartImportAsync(HttpRequest request, string? format, string? kind, bool? atomic, DirectoryImports imports, IOptions<DirectoryOptions> options)
    {
        DirectoryImportFormat parsedFormat;
        var contentType = request.ContentType ?? string.Empty;
        switch ((format ?? string.Empty).ToUpperInvariant())
        {
            case "JSON":
                parsedFormat = DirectoryImportFormat.Json;
                break;
            case "CSV":
                parsedFormat = DirectoryImportFormat.Csv;
                break;
            case "" when contentType.Contains("json", StringComparison.OrdinalIgnoreCase):
                parsedFormat = DirectoryImportFormat.Json;
                break;
            case "" when contentType.Contains("csv", StringComparison.OrdinalIgnoreCase):
                parsedFormat = DirectoryImportFormat.Csv;
                break;
            default:
                return Fail(400, "bad_request", "Send Content-Type application/json or text/csv, or ?format=json|csv.");
        }

        DirectoryImportKind parsedKind;
        switch ((kind ?? string.Empty).ToUpperInvariant())
        {
            case "":
                parsedKind = DirectoryImportKind.Auto;
                break;
            case "DEPARTMENTS" or "DEPARTMENT":
                parsedKind = DirectoryImportKind.Departments;
                break;
            case "MEMBERS" or "MEMBER":
                parsedKind = DirectoryImportKind.Members;
                break;
            default:
                return Fail(400, "bad_request", "kind must be departments or members.");
        }

        var max = options.Value.MaxImportBytes;
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max)
            {
                return Fail(413, "too_large", $"The import is larger than {max} bytes (Parley:Directory:MaxImportBytes).");
            }

            buffer.Write(chunk, 0, read);
        }

        try
        {
            var job = imports.Submit(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), parsedFormat, parsedKind, atomic ?? false);
            return Results.Accepted($"/admin/v1/directory/imports/{job.Id}", job.Snapshot());
        }
        catch (DirectoryImportFormatException ex)
        {
            return Fail(400, "bad_import", ex.Message);
        }
    }

    private static IResult GetImport(string jobId, DirectoryImports imports) =>
        imports.Get(jobId) is { } job ? Results.Ok(job.Snapshot()) : Fail(404, "not_found", "No such import job (finished jobs are kept for a while only).");

    private static IResult Outcome(DirectoryApplyResult result, Func<IResult> success)
    {
        var outcome = result.Results[0];
        return outcome.Error switch
        {
            DirectoryError.None => success(),
            DirectoryError.NotFound => Fail(404, "not_found", outcome.Message ?? "Not found."),
            DirectoryError.DepartmentNotFound => Fail(404, "department_not_found", outcome.Message ?? "No such department."),
            DirectoryError.ParentNotFound => Fail(404, "parent_not_found", outcome.Message ?? "No such parent department."),
            DirectoryError.AlreadyExists => Fail(409, "already_exists", outcome.Message ?? "Exists."),
            DirectoryError.Cycle => Fail(409, "cycle", outcome.Message ?? "The move would create a cycle."),
            DirectoryError.HasChildren => Fail(409, "has_children", outcome.Message ?? "The department has child departments."),
            DirectoryError.HasMembers => Fail(409, "has_members", outcome.Message ?? "The department has members."),
            _ => Fail(400, "bad_request", outcome.Message ?? outcome.Error.ToString()),
        };
    }

    private static IResult? ValidateDepartment(string id, string? parentId, string? name, JsonElement? ex, bool nameRequired)
    {
        if (!Ids.IsValid(id))
        {
            return Fail(400, "bad_request", "departmentId must be 1..64 characters of [A-Za-z0-9-._@:].");
        }

        if (!string.IsNullOrEmpty(parentId) && !Ids.IsValid(parentId))
        {
            return Fail(400, "bad_request", "parentId must be empty (root) or a valid department id.");
        }

        if ((nameRequired && string.IsNullOrWhiteSpace(name)) || (name is not null && (name.Trim().Length == 0 || name.Length > DirectoryImportParser.MaxNameLength)))
        {
            return Fail(400, "bad_request", $"name must be 1..{DirectoryImportParser.MaxNameLength} characters.");
        }

        return ValidateEx(ex);
    }

    private static IResult? ValidateMember(string? position, string? email, string? phone, JsonElement? ex)
    {
        if (position?.Length > DirectoryImportParser.MaxPositionLength || email?.Length > DirectoryImportParser.MaxEmailLength || phone?.Length > DirectoryImportParser.MaxPhoneLength)
        {
            return Fail(400, "bad_request", $"position, email and phone are limited to {DirectoryImportParser.MaxPositionLength}, {DirectoryImportParser.MaxEmailLength} and {DirectoryImportParser.MaxPhoneLength} characters.");
        }

        return ValidateEx(ex);
    }

    private static IResult? ValidateEx(JsonElement? ex) =>
        ex is { } e && Encoding.UTF8.GetByteCount(e.GetRawText()) > DirectoryImportParser.MaxExBytes
            ? Fail(400, "bad_request", $"ex must be at most {DirectoryImportParser.MaxExBytes} bytes of JSON.")
            : null;

    private static string NormalizeEx(JsonElement? ex) => ex is { ValueKind: not JsonValueKind.Undefined and not JsonValueKind.Null } e ? e.GetRawText() : "{}";

    internal static JsonElement ParseEx(string ex)
    {
        try
        {
            using var doc = JsonDocument.Parse(string.IsNullOrEmpty(ex) ? "{}" : ex);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(ex);
        }
    }

    private static IResult Fail(int status, string code, string message) =>
        Results.Json(new ErrorResponse(new ErrorBody(code, message)), statusCode: status);
}

public sealed record CreateDepartmentRequest(string? DepartmentId, string? ParentId, string? Name, int? Order, JsonElement? Ex);

/// <param name="ParentId">When set, a move ("" = make it a root).</param>
public sealed record UpdateDepartmentRequest(string? ParentId, string? Name, int? Order, JsonElement? Ex);

/// <param name="ParentId">The new parent; null or "" makes it a root.</param>
public sealed record MoveDepartmentRequest(string? ParentId, int? Order);

public sealed record AddMemberRequest(string UserId, string? Position, int? Order, string? Email, string? Phone, JsonElement? Ex);

public sealed record UpdateMemberRequest(string? Position, int? Order, string? Email, string? Phone, JsonElement? Ex);

public sealed record VersionResponse(long Version);

public sealed record DepartmentBody(string DepartmentId, string ParentId, string Name, int Order, JsonElement Ex)
{
    public static DepartmentBody From(DepartmentRecord d) => new(d.DepartmentId, d.ParentId, d.Name, d.Order, DirectoryAdminApi.ParseEx(d.Ex));
}

public sealed record DepartmentResponse(long Version, DepartmentBody Department);

public sealed record MemberBody(string DepartmentId, string UserId, string Position, int Order, string Email, string Phone, JsonElement Ex)
{
    public static MemberBody From(DepartmentMemberRecord m) => new(m.DepartmentId, m.UserId, m.Position, m.Order, m.Email, m.Phone, DirectoryAdminApi.ParseEx(m.Ex));
}

public sealed record MemberResponse(long Version, MemberBody Member);

public sealed record DepartmentNode(string DepartmentId, string ParentId, string Name, int Order, JsonElement Ex, IReadOnlyList<MemberBody> Members, IReadOnlyList<DepartmentNode> Children);

public sealed record TreeResponse(long Version, IReadOnlyList<DepartmentNode> Departments);
