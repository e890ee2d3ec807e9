using Microsoft.AspNetCore.Mvc;

namespace CouponBooks.Api.Hosting;

/// <summary>
/// Every problem response is counted by its code, and logged at Debug (category <c>CouponBooks.Api.Problems</c>)
/// with the trace id its body carries, so a client's <c>traceId</c> leads to the line.
/// </summary>
internal sealed partial class ProblemLog(ILoggerFactory loggers)
{
    public const string Category = "CouponBooks.Api.Problems";

    private readonly ILogger _logger = loggers.CreateLogger(Category);

    public static void Sent(HttpContext http, ProblemDetails problem)
    {
        string? code = problem.Extensions.TryGetValue("code", out var value) ? value as string : null;
        ApiMetrics.ProblemSent(code);
        var log = http.RequestServices.GetService<ProblemLog>();
        if (log is not null && log._logger.IsEnabled(LogLevel.Debug))
        {
            Answered(log._logger, problem.Status ?? http.Response.StatusCode, code, http.Request.Method, http.Request.Path.Value, problem.Detail);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Answered {Status} {Code} to {Method} {Path}: {Detail}")]
    private static partial void Answered(ILogger logger, int status, string? code, string method, string? path, string? detail);
}
