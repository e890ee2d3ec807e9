using System.Diagnostics;

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

            problem.Extensions.TryAdd("traceId", Activity.Current?.Id ?? context.HttpContext.TraceIdentifier);
        });
        services.AddExceptionHandler<ApiExceptionHandler>();
        return services;
    }
}
