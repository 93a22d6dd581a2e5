using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Parley.Api.Admin.Operators;

/// <summary>The admin-API conventions of a route group: authentication and scope check before the body is read, a body cap, and the audit log.</summary>
public static class AdminEndpointConventions
{
    /// <summary>
    /// Protects <paramref name="builder"/>'s endpoints: the admin secret or an operator token whose scopes allow
    /// <paramref name="area"/> (checked by the authorization middleware, before model binding reads the body); request
    /// bodies capped at <paramref name="maxBodyBytes"/> (default <see cref="AdminOptions.MaxBodyBytes"/>); every request
    /// other than GET/HEAD written to the audit log with its outcome.
    /// </summary>
    public static TBuilder RequireParleyAdmin<TBuilder>(this TBuilder builder, string area, long? maxBodyBytes = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentException.ThrowIfNullOrEmpty(area);
        builder.RequireAuthorization(policy => policy
            .AddAuthenticationSchemes(AdminAuthenticationHandler.SchemeName)
            .RequireAuthenticatedUser()
            .AddRequirements(new OperatorScopeRequirement(area)));
        builder.WithMetadata(new BodyLimitMetadata(maxBodyBytes is { } bytes
            ? _ => bytes
            : http => http.RequestServices.GetRequiredService<IOptions<AdminOptions>>().Value.MaxBodyBytes));
        builder.AddEndpointFilter(AuditAsync);
        return builder;
    }

    private static async ValueTask<object?> AuditAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method))
        {
            return await next(context).ConfigureAwait(false);
        }

        var writer = http.RequestServices.GetRequiredService<AuditWriter>();
        object? result;
        try
        {
            result = await next(context).ConfigureAwait(false);
        }
        catch (Exception)
        {
            await writer.WriteAsync(http, StatusCodes.Status500InternalServerError, "failed").ConfigureAwait(false);
            throw;
        }

        // Written before the result is: when the caller sees the answer, the entry is durable.
        var status = result switch
        {
            IStatusCodeHttpResult { StatusCode: { } code } => code,
            IResult => StatusCodes.Status200OK,
            _ => StatusCodes.Status200OK,
        };
        await writer.WriteAsync(http, status).ConfigureAwait(false);
        return result;
    }
}

/// <summary>The scope an admin endpoint needs (see <see cref="OperatorScopes.Allows"/>).</summary>
public sealed record OperatorScopeRequirement(string Area) : IAuthorizationRequirement;

/// <summary>Checks <see cref="OperatorScopeRequirement"/> against the token's scopes and the request method.</summary>
public sealed class OperatorScopeHandler : AuthorizationHandler<OperatorScopeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, OperatorScopeRequirement requirement)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(requirement);
        var method = context.Resource switch
        {
            HttpContext http => http.Request.Method,
            _ => "POST",
        };
        var scopes = context.User.FindAll(AdminAuthenticationHandler.ScopeClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        if (OperatorScopes.Allows(scopes, requirement.Area, method))
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>The request body cap of an endpoint, applied before anything reads the body.</summary>
public sealed class BodyLimitMetadata(Func<HttpContext, long> limit)
{
    public long LimitFor(HttpContext context) => limit(context);
}
