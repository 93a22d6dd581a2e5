using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Parley.IntegrationTests.Infrastructure;

/// <summary>
/// A loopback HTTP front for the test S3 server (s3rver) that adds two S3 behaviours s3rver lacks: CompleteMultipartUpload
/// answers <c>400 InvalidPart</c> when a listed ETag is not the one the part's UploadPart answered (or the part was never
/// stored; s3rver itself accepts any ETag, and crashes on a missing part), and ListParts lists the stored parts. Everything
/// else is forwarded unchanged, Host header included, so S3 signatures (headers and presigned URLs) still verify.
/// </summary>
public sealed class StrictS3Front : IAsyncDisposable
{
    private static readonly XNamespace S3 = "http://s3.amazonaws.com/doc/2006-03-01/";
    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly ConcurrentDictionary<(string UploadId, int Part), (string ETag, long Size)> _parts = new();

    private StrictS3Front(WebApplication app, HttpClient upstream)
    {
        _app = app;
        _upstream = upstream;
    }

    /// <summary>The front's base URL (use it as the S3 service URL).</summary>
    public string Endpoint { get; private set; } = string.Empty;

    /// <summary>How many CompleteMultipartUpload calls were refused with InvalidPart.</summary>
    public int InvalidPartAnswers { get; private set; }

    public static async Task<StrictS3Front> StartAsync(string upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(upstream) };
        var front = new StrictS3Front(app, http);
        app.Run(front.HandleAsync);
        await app.StartAsync();
        front.Endpoint = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal);
        return front;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var uploadId = query["uploadId"].ToString();
        if (uploadId.Length > 0 && HttpMethods.IsPost(context.Request.Method))
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var listed = XDocument.Parse(Encoding.UTF8.GetString(buffer.ToArray())).Root!.Elements().Where(e => e.Name.LocalName == "Part")
                .Select(p => (Part: int.Parse(p.Elements().First(e => e.Name.LocalName == "PartNumber").Value, CultureInfo.InvariantCulture), ETag: p.Elements().First(e => e.Name.LocalName == "ETag").Value.Trim('"')))
                .ToList();
            if (listed.Any(p => !_parts.TryGetValue((uploadId, p.Part), out var held) || !string.Equals(held.ETag, p.ETag, StringComparison.OrdinalIgnoreCase)))
            {
                InvalidPartAnswers++;
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                context.Response.ContentType = "application/xml";
                await context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidPart</Code><Message>One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.</Message></Error>");
                return;
            }

            await ForwardAsync(context, buffer.ToArray());
            return;
        }

        if (uploadId.Length > 0 && HttpMethods.IsGet(context.Request.Method))
        {
            // ListParts.
            var result = new XElement(S3 + "ListPartsResult",
                new XElement(S3 + "UploadId", uploadId),
                new XElement(S3 + "IsTruncated", "false"),
                _parts.Where(p => p.Key.UploadId == uploadId).OrderBy(p => p.Key.Part).Select(p => new XElement(S3 + "Part",
                    new XElement(S3 + "PartNumber", p.Key.Part),
                    new XElement(S3 + "ETag", "\"" + p.Value.ETag + "\""),
                    new XElement(S3 + "Size", p.Value.Size))));
            context.Response.ContentType = "application/xml";
            await context.Response.WriteAsync(new XDocument(new XDeclaration("1.0", "UTF-8", null), result).ToString());
            return;
        }

        var response = await ForwardAsync(context, null);
        if (HttpMethods.IsPut(context.Request.Method) && query.ContainsKey("partNumber") && response.Status == HttpStatusCode.OK && response.ETag is { } etag)
        {
            _parts[(query["uploadId"].ToString(), int.Parse(query["partNumber"]!, CultureInfo.InvariantCulture))] = (etag.Trim('"'), context.Request.ContentLength ?? 0);
        }
    }

    private async Task<(HttpStatusCode Status, string? ETag)> ForwardAsync(HttpContext context, byte[]? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), context.Request.Path + context.Request.QueryString);
        if (body is not null || context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            var bytes = body;
            if (bytes is null)
            {
                using var buffer = new MemoryStream();
                await context.Request.Body.CopyToAsync(buffer);
                bytes = buffer.ToArray();
            }

            request.Content = new ByteArrayContent(bytes);
        }

        foreach (var header in context.Request.Headers)
        {
            if (header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || header.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray()))
            {
                request.Content?.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray());
            }
        }

        using var response = await _upstream.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            if (!header.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.Headers[header.Key] = header.Value.ToArray();
            }
        }

        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        return (response.StatusCode, response.Headers.ETag?.Tag);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }
}
