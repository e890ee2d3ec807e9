using System.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;
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

            // Every problem names its type: the framework links the statuses of RFC 9110, not 413's nor 429's (RFC 6585).
            problem.Type ??= problem.Status switch
            {
                StatusCodes.Status413PayloadTooLarge => "https://tools.ietf.org/html/rfc9110#section-15.5.14",
                StatusCodes.Status429TooManyRequests => "https://tools.ietf.org/html/rfc6585#section-4",
                _ => "about:blank",
            };

            // Every problem says what happened in words (API.md lists `detail` among the members), also those the framework makes.
            problem.Detail ??= DefaultDetail(problem.Status, context.HttpContext.Request);

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

    private static string DefaultDetail(int? status, HttpRequest request) => status switch
    {
        StatusCodes.Status400BadRequest => "The request is not valid.",
        StatusCodes.Status401Unauthorized => "Send a valid access token (Authorization: Bearer ...).",
        StatusCodes.Status403Forbidden => "Your role does not allow this request.",
        StatusCodes.Status404NotFound => $"Nothing is at {request.Path}.",
        StatusCodes.Status405MethodNotAllowed => $"{request.Method} is not allowed on {request.Path}.",
        StatusCodes.Status413PayloadTooLarge => "The request body is too large.",
        StatusCodes.Status415UnsupportedMediaType => "Send the body as application/json (or as the endpoint documents).",
        StatusCodes.Status503ServiceUnavailable => "The service cannot reach its storage or cluster right now; try again shortly.",
        _ => ReasonPhrases.GetReasonPhrase(status ?? StatusCodes.Status500InternalServerError),
    };
}
