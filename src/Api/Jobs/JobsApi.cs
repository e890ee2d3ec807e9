using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using CouponBooks.Api.Auth;
using CouponBooks.Api.Books;
using CouponBooks.Api.Http;
using CouponBooks.Jobs;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CouponBooks.Api.Jobs;

public sealed record JobErrorResponse(string? Code, string Detail, IReadOnlyList<CodeIssueResponse>? Offenders);

/// <summary>A job as GET /jobs/{id} answers it; <c>result</c> is the kind's result object once it succeeded.</summary>
public sealed record JobResponse(
    Guid Id,
    [property: AllowedValues("generate-codes", "import-codes", "distribution")] string Kind,
    [property: AllowedValues("queued", "running", "succeeded", "failed")] string State,
    long Total, long Processed, JsonElement? Result, JobErrorResponse? Error, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt)
{
    public static JobResponse From(JobView job) => new(
        job.Id,
        job.Kind switch { JobKind.GenerateCodes => "generate-codes", JobKind.ImportCodes => "import-codes", _ => "distribution" },
        job.State.ToString().ToLowerInvariant(),
        job.Total,
        job.Processed,
        job.ResultJson is null ? null : JsonDocument.Parse(job.ResultJson).RootElement.Clone(),
        job.Error is { } error
            ? new JobErrorResponse(
                error.Code is { } code ? ApiProblems.Slug(code) : null,
                error.Detail,
                error.Offenders?.Select(o => new CodeIssueResponse(o.Line, o.Value, o.Reason)).ToList())
            : null,
        job.CreatedAt,
        job.FinishedAt);
}

public static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/v1/jobs").WithTags("Jobs").RequireAuthorization(AuthSetup.AdminPolicy)
            .MapGet("/{id:guid}", GetAsync)
            .WithSummary("A long job's progress and result (code generation, large CSV imports).")
            .WithDescription("`state` is queued, running, succeeded or failed; `result` holds the kind's result once succeeded (`{generated}` for a generation, `{accepted, skipped, skippedCount}` for an import); `error` says why it failed. Errors: 404 `not-found`.")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static string Location(Guid jobId) => $"/api/v1/jobs/{jobId}";

    private static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetAsync(Guid id, IClusterClient cluster)
    {
        var job = await cluster.GetGrain<IJobGrain>(id).GetAsync();
        return job is null ? ApiProblems.Problem(ErrorCode.NotFound, "No such job.") : TypedResults.Ok(JobResponse.From(job));
    }
}
