using Microsoft.AspNetCore.Routing;

namespace CouponBooks.Api.Http;

/// <summary>
/// Where a body of the wrong media type is refused. Routing's own check (ASP.NET Core's accepts matcher policy) picks a
/// 415 endpoint before authentication runs, so a caller without a token, or a USER on an admin endpoint, learned 415
/// instead of 401 or 403. Without it the endpoint itself answers 415 (the JSON binder, or the upload's own check), after
/// the token and the role were checked; the endpoints' Accepts metadata still documents their media types.
/// </summary>
public static class MediaTypeChecks
{
    private const string RoutingPolicy = "Microsoft.AspNetCore.Routing.Matching.AcceptsMatcherPolicy";

    public static IServiceCollection CheckMediaTypesAfterAuthorization(this IServiceCollection services)
    {
        services.AddRouting();
        var policy = services.SingleOrDefault(d => d.ServiceType == typeof(MatcherPolicy) && d.ImplementationType?.FullName == RoutingPolicy)
            ?? throw new InvalidOperationException($"Routing no longer registers {RoutingPolicy}; see {nameof(MediaTypeChecks)}.");
        services.Remove(policy);
        return services;
    }
}
