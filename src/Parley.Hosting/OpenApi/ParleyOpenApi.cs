using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Parley.Api.Admin.Operators;

namespace Parley.Hosting.OpenApi;

/// <summary>
/// The OpenAPI 3.1 document of Parley's HTTP API (ASP.NET Core's built-in generator): the admin API (<c>/admin/v1</c>),
/// the client API (<c>/api/v1</c>: devices, push reports, media, development sign-in) and the vendor receipt callbacks
/// (<c>/push/receipts</c>). Served at <see cref="Path"/> on the management listener, for the admin secret or an operator
/// token with the read scope. The OpenIM REST edge is OpenIM's own API (docs/compat-openim.md) and is not in it.
/// </summary>
public static class ParleyOpenApi
{
    public const string DocumentName = "v1";

    public const string Path = "/openapi/v1.json";

    /// <summary>Route prefixes the document covers; <c>OpenApiTests</c> checks that every mapped route under them is in it.</summary>
    public static readonly string[] DocumentedPrefixes = ["/admin/", "/api/", "/push/"];

    private const string ErrorSchema = "Error";

    // Error statuses every route may answer, with the same body shape {"error":{"code","message"}}.
    private static readonly (string Status, string Description)[] Errors =
    [
        ("400", "Malformed or invalid request: `error.code` names the problem (e.g. `bad_request`)."),
        ("401", "Missing, malformed, expired or revoked bearer token."),
        ("403", "The token lacks the scope (admin API) or the caller may not act on the resource."),
        ("404", "No such resource."),
        ("409", "Conflict with the current state (e.g. `already_exists`, `user_disabled`)."),
        ("413", "The request body exceeds the route's cap (Parley:Admin:MaxBodyBytes, upload limits)."),
        ("429", "Rate limited; retry after the `Retry-After` header."),
    ];

    public static IServiceCollection AddParleyOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(DocumentName, options =>
        {
            options.ShouldInclude = description =>
                description.RelativePath is { } path && DocumentedPrefixes.Any(p => ("/" + path).StartsWith(p, StringComparison.Ordinal));
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Parley HTTP API",
                    Version = "v1",
                    Description = "Admin API (/admin/v1, admin secret or scoped operator token), client API (/api/v1, device token) and push receipt callbacks. Errors are {\"error\":{\"code\",\"message\"}}. The WebSocket protocol is described in docs/protocol.md.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
                document.Components.Schemas[ErrorSchema] = new OpenApiSchema
                {
                    Type = JsonSchemaType.Object,
                    Required = new HashSet<string>(StringComparer.Ordinal) { "error" },
                    Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
                    {
                        ["error"] = new OpenApiSchema
                        {
                            Type = JsonSchemaType.Object,
                            Required = new HashSet<string>(StringComparer.Ordinal) { "code", "message" },
                            Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
                            {
                                ["code"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Stable machine-readable code." },
                                ["message"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Human-readable explanation." },
                            },
                        },
                    },
                };
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
                document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "Admin API: the admin secret or an operator token. Client API: a device token issued by the admin API.",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var path = "/" + context.Description.RelativePath;
                operation.Responses ??= [];
                foreach (var (status, description) in Errors)
                {
                    if (!operation.Responses.ContainsKey(status))
                    {
                        operation.Responses[status] = new OpenApiResponse
                        {
                            Description = description,
                            Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal)
                            {
                                ["application/json"] = new OpenApiMediaType { Schema = new OpenApiSchemaReference(ErrorSchema, context.Document) },
                            },
                        };
                    }
                }

                if (!path.StartsWith("/push/receipts", StringComparison.Ordinal) && !path.StartsWith("/api/v1/dev/", StringComparison.Ordinal))
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", context.Document)] = [] });
                }

                return Task.CompletedTask;
            });
        });

    /// <summary>Maps the document; the caller marks it management-only.</summary>
    public static IEndpointConventionBuilder MapParleyOpenApi(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapOpenApi("/openapi/{documentName}.json").RequireParleyAdmin(OperatorScopes.Read);
}
