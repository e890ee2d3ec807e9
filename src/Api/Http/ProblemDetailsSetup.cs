using System.Diagnostics;
using CouponBooks.Api.Hosting;

namespace CouponBooks.Api.Http;

internal static class ProblemDetailsSetup
{
    /// <summary>Problem details everywhere, each with the <c>code</c> of API.md and the trace id.</summary>
    public static IServiceCollection AddApiProblemDetails(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var problem = context.ProblemDetails;
            if (!problem.Extensions.ContainsKey("code") && problem.Status is { } status && ApiProblems.CodeForStatus(status) is { } code)
            {
                problem.Extensions["code"] = ApiProblems.Slug(code);
                problem.Title = ApiProblems.Title(code);
                if (code == ErrorCode.ValidationFailed && problem is not Microsoft.AspNetCore.Http.HttpValidationProblemDetails)
                {
                    problem.Extensions["errors"] = new Dictionary<string, string[]> { ["request"] = [problem.Detail ?? "The request is not valid."] };
                }
            }

            // The trace id the request's log lines carry, in place of the framework's default (the full W3C activity id).
            if (!problem.Extensions.TryGetValue("traceId", out var trace) || Equals(trace, Activity.Current?.Id))
            {
                problem.Extensions["traceId"] = RequestTrace.CurrentId() ?? context.HttpContext.TraceIdentifier;
            }

            ProblemLog.Sent(context.HttpContext, problem);
        });
        services.AddExceptionHandler<ApiExceptionHandler>();
        return services;
    }
}
