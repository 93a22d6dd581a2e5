using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using Parley.Core.Auth;
using Parley.Core.Limits;
using Parley.Protocol.V1;
using ErrorCode = Parley.Protocol.V1.ErrorCode;

namespace Parley.Media;

/// <summary>
/// The client media HTTP API (docs/media.md): uploads and object look-ups authenticated by the device token, and the
/// signed part and download URLs, which carry their own signature.
/// </summary>
public static class MediaHttpApi
{
    private const string IdentityKey = "parley.media.identity";
    private const long MaxPartBody = 64L * 1024 * 1024;
    private const long MaxJsonBody = 64 * 1024;

    public static IEndpointRouteBuilder MapParleyMedia(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/v1").AddEndpointFilter(RequireDeviceTokenAsync);
        // The body is read by the handler, after the endpoint filter has checked the token (a bound parameter would be read
        // before any filter runs); Accepts keeps its schema in the OpenAPI document.
        api.MapPost("/uploads", InitiateAsync).Accepts<InitiateUploadBody>("application/json");
        api.MapGet("/uploads/{uploadId}", GetUploadAsync);
        api.MapPost("/uploads/{uploadId}/complete", CompleteAsync);
        api.MapPost("/uploads/{uploadId}/parts/{partNumber:int}/confirm", ConfirmPartAsync).Accepts<ConfirmPartBody>("application/json");
        api.MapDelete("/uploads/{uploadId}", AbortAsync);
        api.MapGet("/objects/{objectId}", GetObjectAsync);

        // Signed URLs: no Authorization header (a browser <img src>, a plain PUT).
        endpoints.MapPut("/api/v1/uploads/{uploadId}/parts/{partNumber:int}", PutPartAsync);
        endpoints.MapMethods("/media/{objectId}", [HttpMethods.Get, HttpMethods.Head], DownloadAsync);
        return endpoints;
    }

    private static async Task<IResult> InitiateAsync(HttpContext context, MediaService media)
    {
        var (body, refusal) = await ReadBoundedJsonAsync<InitiateUploadBody>(context, "{\"kind\", \"fileName\", \"size\", \"contentType\", \"partSize\"}").ConfigureAwait(false);
        if (body is null)
        {
            return refusal!;
        }

        var result = await media.InitiateAsync(UserId(context), body.Kind, body.FileName, body.Size, body.ContentType, body.PartSize, BaseUrl(context, media), context.RequestAborted).ConfigureAwait(false);
        return result.Ok ? Results.Json(result.Value, statusCode: StatusCodes.Status201Created) : Error(result.Error, result.Message);
    }

    private static async Task<IResult> GetUploadAsync(HttpContext context, string uploadId, MediaService media)
    {
        var result = await media.GetUploadAsync(UserId(context), uploadId, BaseUrl(context, media), context.RequestAborted).ConfigureAwait(false);
        return result.Ok ? Results.Json(result.Value) : Error(result.Error, result.Message);
    }

    private static async Task<IResult> CompleteAsync(HttpContext context, string uploadId, MediaService media)
    {
        string? sha256 = null;
        if (context.Request.ContentLength > 0 || context.Request.Headers.ContentType.Count > 0)
        {
            try
            {
                sha256 = (await context.Request.ReadFromJsonAsync<CompleteUploadBody>(context.RequestAborted).ConfigureAwait(false))?.Sha256;
            }
            catch (System.Text.Json.JsonException)
            {
                return Error(ErrorCode.BadRequest, "The body must be JSON: {\"sha256\": \"...\"}.");
            }
        }

        var result = await media.CompleteAsync(UserId(context), uploadId, sha256, context.RequestAborted).ConfigureAwait(false);
        return result.Ok ? Results.Json(result.Value) : Error(result.Error, result.Message);
    }

    private static async Task<IResult> ConfirmPartAsync(HttpContext context, string uploadId, int partNumber, MediaService media)
    {
        var (body, refusal) = await ReadBoundedJsonAsync<ConfirmPartBody>(context, "{\"etag\": \"...\", \"sha256\": \"...\"}").ConfigureAwait(false);
        if (body is null)
        {
            return refusal!;
        }

        var result = await media.ConfirmDirectPartAsync(UserId(context), uploadId, partNumber, body.Etag, body.Sha256, context.RequestAborted).ConfigureAwait(false);
        return result.Ok ? Results.Json(result.Value) : Error(result.Error, result.Message);
    }

    private static async Task<IResult> AbortAsync(HttpContext context, string uploadId, MediaService media)
    {
        var result = await media.AbortAsync(UserId(context), uploadId, context.RequestAborted).ConfigureAwait(false);
        return result.Ok ? Results.NoContent() : Error(result.Error, result.Message);
    }

    private static async Task<IResult> GetObjectAsync(HttpContext context, string objectId, MediaService media)
    {
        var result = await media.GetObjectAsync(UserId(context), objectId, BaseUrl(context, media), context.RequestAborted).ConfigureAwait(false);
        return result.Ok ? Results.Json(result.Value) : Error(result.Error, result.Message);
    }

    private static async Task<IResult> PutPartAsync(HttpContext context, string uploadId, int partNumber, MediaService media)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxPartBody;
        }

        var query = context.Request.Query;
        _ = long.TryParse(query["e"], NumberStyles.None, CultureInfo.InvariantCulture, out var expiresAt);
        var result = await media.PutPartAsync(uploadId, partNumber, expiresAt, query["s"], context.Request.Headers["X-Parley-Sha256"], context.Request.ContentLength, context.Request.Body, context.RequestAborted).ConfigureAwait(false);
        return result.Ok ? Results.Json(result.Value) : Error(result.Error, result.Message);
    }

    private static async Task DownloadAsync(HttpContext context, string objectId, MediaService media)
    {
        var query = context.Request.Query;
        _ = long.TryParse(query["e"], NumberStyles.None, CultureInfo.InvariantCulture, out var expiresAt);
        var result = await media.OpenSignedAsync(objectId, expiresAt, query["s"], context.RequestAborted).ConfigureAwait(false);
        var response = context.Response;
        if (!result.Ok)
        {
            await Error(result.Error, result.Message).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var obj = result.Value!;
        var etag = $"\"{obj.Sha256}\"";
        var maxAge = Math.Max(0, (expiresAt - media.NowMs()) / 1000);
        response.Headers.AcceptRanges = "bytes";
        response.Headers.ETag = etag;
        response.Headers.CacheControl = string.Create(CultureInfo.InvariantCulture, $"private, max-age={maxAge}, immutable");
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.ContentSecurityPolicy = "default-src 'none'; sandbox";
        response.Headers.ContentDisposition = MediaService.ContentDisposition(obj.FileName, obj.ContentType);
        response.ContentType = MediaService.ServedContentType(obj.ContentType);

        if (context.Request.Headers.IfNoneMatch.ToString() == etag)
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        long offset = 0, length = obj.Size;
        if (RangeHeaderValue.TryParse(context.Request.Headers.Range.ToString(), out var range)
            && range.Unit.Equals("bytes", StringComparison.OrdinalIgnoreCase) && range.Ranges.Count == 1)
        {
            var r = range.Ranges.First();
            if (r.From is { } from)
            {
                if (from >= obj.Size)
                {
                    response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                    response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes */{obj.Size}");
                    return;
                }

                offset = from;
                length = Math.Min(r.To ?? (obj.Size - 1), obj.Size - 1) - from + 1;
            }
            else if (r.To is { } suffix && suffix > 0)
            {
                length = Math.Min(suffix, obj.Size);
                offset = obj.Size - length;
            }

            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {offset}-{offset + length - 1}/{obj.Size}");
        }

        response.ContentLength = length;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        var stream = await media.Blobs.OpenReadAsync(MediaService.ObjectKey(obj.ObjectId), offset, length, context.RequestAborted).ConfigureAwait(false);
        if (stream is null)
        {
            response.ContentLength = null;
            response.Headers.ContentRange = default;
            await Error(ErrorCode.NotFound, "No such object.").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        await using (stream.ConfigureAwait(false))
        {
            await stream.CopyToAsync(response.Body, 128 * 1024, context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads a JSON body of at most <see cref="MaxJsonBody"/> bytes (a declared longer body is refused before reading, and
    /// the server stops reading past the limit): the body, or null and the refusal (413 TOO_LARGE, 400 BAD_REQUEST naming
    /// <paramref name="shape"/> for malformed JSON or a body that is not an object).
    /// </summary>
    private static async Task<(T? Body, IResult? Refusal)> ReadBoundedJsonAsync<T>(HttpContext context, string shape)
        where T : class
    {
        var tooLarge = Error(ErrorCode.TooLarge, $"The request body may have at most {MaxJsonBody} bytes.");
        if (context.Request.ContentLength > MaxJsonBody)
        {
            return (null, tooLarge);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxJsonBody;
        }

        try
        {
            var body = await context.Request.ReadFromJsonAsync<T>(context.RequestAborted).ConfigureAwait(false);
            return body is null ? (null, Error(ErrorCode.BadRequest, $"The body must be a JSON object: {shape}.")) : (body, null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, tooLarge);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return (null, Error(ErrorCode.BadRequest, $"The body must be JSON: {shape}."));
        }
    }

    private static async ValueTask<object?> RequireDeviceTokenAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var header = http.Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        var token = header.StartsWith(Scheme, StringComparison.Ordinal) ? header[Scheme.Length..] : string.Empty;
        var (status, identity) = await http.RequestServices.GetRequiredService<TokenService>().ValidateAsync(token).ConfigureAwait(false);
        if (status != TokenStatus.Valid || identity is null)
        {
            return Error(ErrorCode.Unauthenticated, "A valid device token is required.");
        }

        // Starting an upload costs an upload; the other calls a REST call (signed part PUTs are bounded by the upload).
        var action = HttpMethods.IsPost(http.Request.Method) && http.Request.Path.Value?.EndsWith("/uploads", StringComparison.Ordinal) == true
            ? RateLimitAction.Upload
            : RateLimitAction.Rest;
        var decision = http.RequestServices.GetRequiredService<RateLimiter>().TryAcquire(action, identity.UserId, null);
        if (!decision.Allowed)
        {
            RateLimiter.SetRetryAfterHeader(http.Response, decision);
            return Results.Json(
                new ErrorBody(new ErrorDetail(Name(ErrorCode.RateLimited), $"Too many {RateLimiter.ActionTag(action)} requests; retry after {decision.RetryAfterMs} ms.", decision.RetryAfterMs)),
                statusCode: StatusCodes.Status429TooManyRequests);
        }

        http.Items[IdentityKey] = identity;
        return await next(context).ConfigureAwait(false);
    }

    private static string UserId(HttpContext context) => ((TokenIdentity)context.Items[IdentityKey]!).UserId;

    private static string BaseUrl(HttpContext context, MediaService media) =>
        media.Options.PublicBaseUrl.Length > 0 ? media.Options.PublicBaseUrl.TrimEnd('/') : $"{context.Request.Scheme}://{context.Request.Host}";

    internal static IResult Error(ErrorCode code, string? message) =>
        Results.Json(new ErrorBody(new ErrorDetail(Name(code), message ?? "The request was refused.")), statusCode: code switch
        {
            ErrorCode.Unauthenticated => StatusCodes.Status401Unauthorized,
            ErrorCode.Forbidden => StatusCodes.Status403Forbidden,
            ErrorCode.NotFound => StatusCodes.Status404NotFound,
            ErrorCode.TooLarge => StatusCodes.Status413PayloadTooLarge,
            ErrorCode.Conflict => StatusCodes.Status409Conflict,
            ErrorCode.RateLimited => StatusCodes.Status429TooManyRequests,
            ErrorCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
            _ => StatusCodes.Status400BadRequest,
        });

    // ErrorCode.NotFound → "NOT_FOUND", as in the protocol's enum.
    private static string Name(ErrorCode code) =>
        string.Concat(code.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();
}

public sealed record InitiateUploadBody(string? Kind, string? FileName, long Size, string? ContentType, long? PartSize);

public sealed record CompleteUploadBody(string? Sha256);

public sealed record ConfirmPartBody(string? Etag, string? Sha256);

public sealed record ErrorBody(ErrorDetail Error);

public sealed record ErrorDetail(string Code, string Message, [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] long? RetryAfterMs = null);
