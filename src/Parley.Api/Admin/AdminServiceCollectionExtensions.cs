using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Parley.Api.Admin.Operators;

namespace Parley.Api.Admin;

public static class AdminServiceCollectionExtensions
{
    /// <summary>
    /// Registers the admin API's options, authentication scheme (admin secret or operator token), scope authorization and
    /// audit writer. The stores (<c>IOperatorStore</c>, <c>IAuditStore</c>, <c>IAdminQueryStore</c>) come from the host.
    /// </summary>
    public static AuthenticationBuilder AddParleyAdminApi(this IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration config)
    {
        services.AddOptions<AdminOptions>().Bind(config.GetSection(AdminOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AdminOptions>, AdminOptionsValidator>();
        services.AddSingleton<AuditWriter>();
        services.AddSingleton<SuperGroupJobs>();
        services.AddHostedService(sp => sp.GetRequiredService<SuperGroupJobs>());
        services.AddSingleton<IAuthorizationHandler, OperatorScopeHandler>();
        services.AddAuthorization();
        return services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, AdminAuthenticationHandler>(AdminAuthenticationHandler.SchemeName, null);
    }

    /// <summary>
    /// Authentication and authorization (header-only, before any body is read), then the per-endpoint body caps
    /// (<see cref="BodyLimitMetadata"/>): a declared length over the cap is refused with 413 at once, and reading past it fails.
    /// Call before mapping endpoints.
    /// </summary>
    public static IApplicationBuilder UseParleyAuthAndBodyLimits(this IApplicationBuilder app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.Use(static async (context, next) =>
        {
            var limit = context.GetEndpoint()?.Metadata.GetMetadata<BodyLimitMetadata>();
            if (limit is not null)
            {
                var max = limit.LimitFor(context);
                if (context.Request.ContentLength > max)
                {
                    context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                    await context.Response.WriteAsJsonAsync(new ErrorResponse(new ErrorBody("too_large", $"The request body exceeds {max} bytes."))).ConfigureAwait(false);
                    return;
                }

                if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
                {
                    feature.MaxRequestBodySize = max;
                }
            }

            await next(context).ConfigureAwait(false);
        });
        return app;
    }
}
