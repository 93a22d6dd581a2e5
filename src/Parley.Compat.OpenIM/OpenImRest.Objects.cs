using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Parley.Core.Auth;
using Parley.Media;
using ErrorCode = Parley.Protocol.V1.ErrorCode;
using static Parley.Compat.OpenIM.Rest.SocialJson;

namespace Parley.Compat.OpenIM;

/// <summary>
/// OpenIM's object storage calls (<c>/object/*</c>) as <c>@openim/client-sdk</c> 0.0.14's <c>uploadFile</c> and its image, voice,
/// video and file sends use them: part_size → initiate_multipart_upload → a PUT of each part to the URLs it names →
/// complete_multipart_upload → <c>{url}</c>. They run on Parley's media service (docs/media.md): the same size limits,
/// quota, content sniffing, thumbnails and EXIF stripping as native uploads. The URL names the object; fetching it
/// (<c>GET /object/{id}</c> or <c>/object/access_url</c>) needs the caller's token and the same right to read as a native
/// download (the owner, or a member of a conversation holding a live message that names it).
/// </summary>
internal static partial class OpenImRest
{
    private const long MaxPartBody = 64L * 1024 * 1024;

    static partial void MapObjects(RouteGroupBuilder group)
    {
        Route(group, "/object/part_limit", OpenImAuth.User, PartLimitAsync);
        Route(group, "/object/part_size", OpenImAuth.User, PartSizeAsync);
        Route(group, "/object/initiate_multipart_upload", OpenImAuth.User, InitiateMultipartUploadAsync);
        Route(group, "/object/auth_sign", OpenImAuth.User, AuthSignAsync);
        Route(group, "/object/complete_multipart_upload", OpenImAuth.User, CompleteMultipartUploadAsync);
        Route(group, "/object/access_url", OpenImAuth.User, AccessUrlAsync);

        // The part URLs initiate_multipart_upload and auth_sign hand out: signed, no token (the SDK PUTs plain bytes).
        const string PartPath = "/object/part/{uploadId}/{partNumber:int}";
        MapOptions(group, PartPath);
        group.MapPut(PartPath, PutPartAsync);

        // OpenIM's GET /object/{name} redirects to the stored bytes; Parley's asks for the caller's token first.
        MapOptions(group, "/object/{objectId}");
        group.MapGet("/object/{objectId}", ObjectRedirectAsync);
    }

    private static MediaService? Media(HttpContext context) => context.RequestServices.GetService<MediaService>();

    private static OpenImResponse NoMedia() => OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "object storage is not enabled on this server");

    private static OpenImResponse MediaError(ErrorCode code, string? message) => code switch
    {
        ErrorCode.NotFound => OpenImResponse.Error(OpenImErrors.RecordNotFound, "RecordNotFoundError", message ?? "not found"),
        ErrorCode.Forbidden => OpenImResponse.Error(OpenImErrors.NoPermission, "NoPermissionError", message ?? "refused"),
        ErrorCode.RateLimited => OpenImResponse.Error(OpenImErrors.TooManyRequests, "TooManyRequests: " + message, string.Empty),
        _ => OpenImResponse.Error(OpenImErrors.Args, "ArgsError", message ?? "refused"),
    };

    private static string RequestBase(HttpContext context) =>
        $"{context.Request.Scheme}://{context.Request.Host}{context.Request.PathBase}{context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<OpenImOptions>>().Value.PathPrefix.TrimEnd('/')}";

    private static Task<OpenImResponse> PartLimitAsync(HttpContext context, JsonElement body, string? caller)
    {
        var (min, max, parts) = MediaService.PartLimits;
        return Task.FromResult(OpenImResponse.Ok(new Dictionary<string, object> { ["minPartSize"] = min, ["maxPartSize"] = max, ["maxNumSize"] = parts }));
    }

    private static Task<OpenImResponse> PartSizeAsync(HttpContext context, JsonElement body, string? caller)
    {
        if (Media(context) is not { } media)
        {
            return Task.FromResult(NoMedia());
        }

        var size = Long(body, "size") ?? 0;
        return Task.FromResult(size <= 0
            ? OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "size must be positive")
            : OpenImResponse.Ok(new Dictionary<string, object> { ["size"] = media.ChoosePartSize(size) }));
    }

    /// <summary>
    /// Starts an upload. The kind (and so the size limit) follows the declared content type; the bytes decide at completion
    /// (an "image" that is not one becomes a file). OpenIM's hash short-cut (answer <c>{url}</c> at once for bytes it already
    /// has) is not taken: the SDK's hash is an MD5 of its part MD5s, which Parley cannot check without the bytes.
    /// The hash is kept in the upload id the SDK gets back (<c>{uploadId}.{hash}</c>, as OpenIM keeps it in its own upload
    /// ids), so completion checks the part MD5s against it as OpenIM does.
    /// </summary>
    private static async Task<OpenImResponse> InitiateMultipartUploadAsync(HttpContext context, JsonElement body, string? caller)
    {
        if (Media(context) is not { } media)
        {
            return NoMedia();
        }

        var size = Long(body, "size") ?? 0;
        var name = Str(body, "name") ?? string.Empty;
        var contentType = Str(body, "contentType") ?? string.Empty;
        var hash = (Str(body, "hash") ?? string.Empty).ToLowerInvariant();
        if (hash.Length > 0 && !IsMd5Hex(hash))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "hash must be an MD5 (32 hex characters)");
        }

        var partSize = Long(body, "partSize") is > 0 and var requested ? requested : media.ChoosePartSize(Math.Max(size, 1));
        if (name.Length == 0 || name.Length > 1024)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "name must be 1..1024 characters");
        }

        var kind = contentType switch
        {
            _ when contentType.StartsWith("image/", StringComparison.OrdinalIgnoreCase) => "image",
            _ when contentType.StartsWith("audio/", StringComparison.OrdinalIgnoreCase) => "voice",
            _ when contentType.StartsWith("video/", StringComparison.OrdinalIgnoreCase) => "video",
            _ => "file",
        };

        // OpenIM names objects "{userID}/{file name}"; Parley keeps the file name only (the object has its own id).
        var fileName = name[(name.LastIndexOf('/') + 1)..];
        var started = await media.InitiateAsync(caller!, kind, fileName, size, contentType, partSize, RequestBase(context), context.RequestAborted).ConfigureAwait(false);
        if (!started.Ok)
        {
            return MediaError(started.Error, started.Message);
        }

        var upload = started.Value!;
        var urls = await media.Md5ClientPartUrlsAsync(caller!, upload.UploadId, Enumerable.Range(1, upload.PartCount), RequestBase(context) + "/object/part", context.RequestAborted).ConfigureAwait(false) ?? [];
        return OpenImResponse.Ok(new Dictionary<string, object>
        {
            ["upload"] = new Dictionary<string, object>
            {
                ["uploadID"] = hash.Length > 0 ? upload.UploadId + "." + hash : upload.UploadId,
                ["partSize"] = upload.PartSize,
                ["sign"] = Sign(urls),
                ["expireTime"] = upload.ExpiresAt,
            },
        });
    }

    /// <summary>Fresh part URLs (OpenIM's AuthSign), e.g. after the first ones expired.</summary>
    private static async Task<OpenImResponse> AuthSignAsync(HttpContext context, JsonElement body, string? caller)
    {
        if (Media(context) is not { } media)
        {
            return NoMedia();
        }

        var (uploadId, _) = SplitUploadId(Str(body, "uploadID"));
        var numbers = new List<int>();
        if (body.TryGetProperty("partNumbers", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in list.EnumerateArray())
            {
                numbers.Add(item.ValueKind == JsonValueKind.Number && item.TryGetInt32(out var n) ? n : throw new JsonException("partNumbers must hold integers."));
            }
        }

        var urls = await media.Md5ClientPartUrlsAsync(caller!, uploadId, numbers, RequestBase(context) + "/object/part", context.RequestAborted).ConfigureAwait(false);
        return urls is null
            ? OpenImResponse.Error(OpenImErrors.RecordNotFound, "RecordNotFoundError", "no such open upload")
            : OpenImResponse.Ok(Sign(urls));
    }

    private static Dictionary<string, object> Sign(IReadOnlyList<(int PartNumber, long Size, string Url)> urls) => new()
    {
        ["url"] = string.Empty,
        ["parts"] = urls.Select(u => new Dictionary<string, object> { ["partNumber"] = u.PartNumber, ["url"] = u.Url }).ToList(),
    };

    /// <summary>
    /// Joins the parts and answers the object's URL. <c>parts</c> is the SDK's MD5 of each part, in order (OpenIM checks them
    /// as S3 part ETags): their MD5, joined by commas, must be the hash given at initiation ("md5 mismatching" otherwise, as
    /// OpenIM answers), and each must be the MD5 of the bytes the server stored for that part: a mismatch refuses the upload
    /// (its object is deleted; the SDK uploads again). The server also hashed each part with SHA-256 and checked its length.
    /// </summary>
    private static async Task<OpenImResponse> CompleteMultipartUploadAsync(HttpContext context, JsonElement body, string? caller)
    {
        if (Media(context) is not { } media)
        {
            return NoMedia();
        }

        var (uploadId, hash) = SplitUploadId(Str(body, "uploadID"));
        var parts = StrList(body, "parts");
        var state = await media.GetUploadAsync(caller!, uploadId, RequestBase(context), context.RequestAborted).ConfigureAwait(false);
        if (!state.Ok)
        {
            return MediaError(state.Error, state.Message);
        }

        if (state.Value!.State == "open" && parts.Count != state.Value.PartCount)
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", $"parts must list the upload's {state.Value.PartCount} parts");
        }

        if (state.Value.State == "open" && !parts.All(IsMd5Hex))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "parts must be the parts' MD5s (32 hex characters each)");
        }

        if (state.Value.State == "open" && hash is not null && !string.Equals(Md5Hex(string.Join(',', parts)), hash, StringComparison.Ordinal))
        {
            return OpenImResponse.Error(OpenImErrors.Args, "ArgsError", "md5 mismatching: the parts' MD5s do not give the upload's hash");
        }

        var completed = await media.CompleteAsync(caller!, uploadId, null, state.Value.State == "open" ? [.. parts.Select(p => p.ToLowerInvariant())] : null, context.RequestAborted).ConfigureAwait(false);
        if (!completed.Ok)
        {
            return MediaError(completed.Error, completed.Message);
        }

        var urls = context.RequestServices.GetRequiredService<OpenImObjectUrls>();
        return OpenImResponse.Ok(new Dictionary<string, object> { ["url"] = urls.UrlOf(completed.Value!.ObjectId) });
    }

    /// <summary>The media upload id and the OpenIM hash of an upload id from <see cref="InitiateMultipartUploadAsync"/>.</summary>
    private static (string UploadId, string? Hash) SplitUploadId(string? value)
    {
        var id = value ?? string.Empty;
        var dot = id.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? (id, null) : (id[..dot], IsMd5Hex(id[(dot + 1)..]) ? id[(dot + 1)..] : string.Empty);
    }

    private static bool IsMd5Hex(string value) => value.Length == 32 && value.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f' || c is >= 'A' and <= 'F');

#pragma warning disable CA5351 // OpenIM's upload hash is an MD5 of the part MD5s (its protocol, not an integrity check of ours).
    private static string Md5Hex(string text) => Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
#pragma warning restore CA5351

    /// <summary>OpenIM's AccessURL: a short-lived URL of the bytes for <c>name</c> (an object id or its URL), for callers who may read it.</summary>
    private static async Task<OpenImResponse> AccessUrlAsync(HttpContext context, JsonElement body, string? caller)
    {
        if (Media(context) is not { } media)
        {
            return NoMedia();
        }

        var name = Str(body, "name") ?? string.Empty;
        var objectId = OpenImObjectUrls.ObjectIdOf(name) ?? OpenImObjectUrls.ObjectIdOf("/object/" + name);
        var thumbnail = body.TryGetProperty("query", out var query) && query.ValueKind == JsonValueKind.Object
            && query.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "image"
            && (query.TryGetProperty("width", out _) || query.TryGetProperty("height", out _));
        var found = objectId is null
            ? MediaResult.Fail<ObjectView>(ErrorCode.NotFound, "No such object.")
            : await media.GetObjectAsync(caller!, objectId, RequestBase(context), context.RequestAborted).ConfigureAwait(false);
        if (!found.Ok)
        {
            return MediaError(found.Error, found.Message);
        }

        var view = found.Value!;
        return OpenImResponse.Ok(new Dictionary<string, object>
        {
            ["url"] = thumbnail && view.Thumbnail?.Url is { } small ? small : view.Url!,
            ["expireTime"] = view.ExpiresAt ?? 0,
        });
    }

    private static async Task PutPartAsync(HttpContext context, string uploadId, int partNumber)
    {
        AddCors(context.Response);
        if (Media(context) is not { } media)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxPartBody;
        }

        var query = context.Request.Query;
        _ = long.TryParse(query["e"], NumberStyles.None, CultureInfo.InvariantCulture, out var expiresAt);
        var result = await media.PutServerHashedPartAsync(uploadId, partNumber, expiresAt, query["s"], context.Request.ContentLength, context.Request.Body, context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = result.Ok ? StatusCodes.Status200OK : result.Error switch
        {
            ErrorCode.Forbidden => StatusCodes.Status403Forbidden,
            ErrorCode.NotFound => StatusCodes.Status404NotFound,
            _ => StatusCodes.Status400BadRequest,
        };
        if (!result.Ok)
        {
            await context.Response.WriteAsync(result.Message ?? "refused", context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// OpenIM's <c>GET /object/{name}</c> redirects anyone to the bytes; Parley's wants the caller's OpenIM user token in the
    /// <c>token</c> header and redirects (302) only callers who may read the object to a short-lived signed URL (the thumbnail
    /// for <c>?type=image&amp;width=…</c>, as the SDK builds snapshot URLs). 401 without a valid token, 404 for everyone else.
    /// </summary>
    private static async Task ObjectRedirectAsync(HttpContext context, string objectId)
    {
        AddCors(context.Response);
        var token = context.Request.Headers["token"].ToString();
        var (status, identity) = token.Length == 0
            ? (TokenStatus.Malformed, null)
            : await context.RequestServices.GetRequiredService<TokenService>().ValidateAsync(token, context.RequestAborted).ConfigureAwait(false);
        if (status != TokenStatus.Valid || identity is null)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await context.Response.WriteAsync("an OpenIM user token is required in the token header", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var found = Media(context) is { } media && OpenImObjectUrls.ObjectIdOf("/object/" + objectId) is { } id
            ? await media.GetObjectAsync(identity.UserId, id, RequestBase(context), context.RequestAborted).ConfigureAwait(false)
            : MediaResult.Fail<ObjectView>(ErrorCode.NotFound, "No such object.");
        if (!found.Ok)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            await context.Response.WriteAsync("no such object", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var thumbnail = context.Request.Query["type"] == "image" && (context.Request.Query.ContainsKey("width") || context.Request.Query.ContainsKey("height"));
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Redirect(thumbnail && found.Value!.Thumbnail?.Url is { } small ? small : found.Value!.Url!);
    }
}
