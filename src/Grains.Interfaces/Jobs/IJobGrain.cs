namespace CouponBooks.Jobs;

public enum JobKind
{
    GenerateCodes,
    ImportCodes,
    Distribute,
}

public enum JobState
{
    Queued,
    Running,
    Succeeded,
    Failed,
}

/// <summary>What a job is to do. Only the members of its kind are set.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.JobSpec")]
public sealed record JobSpec(
    [property: Id(0)] JobKind Kind,
    [property: Id(1)] Guid BookId,
    [property: Id(2)] long Total,
    [property: Id(3)] string? Pattern = null,
    [property: Id(4)] Guid? UploadId = null,
    [property: Id(5)] bool SkipInvalid = false,
    [property: Id(6)] Guid? PoolId = null,
    [property: Id(7)] Pools.DistributionSpec? Distribution = null,
    [property: Id(8)] byte[]? RequestHash = null,
    [property: Id(9)] Guid? ActorId = null);

/// <summary>Why a job failed: an error code of the contract, a message, and for imports the offending lines.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.JobError")]
public sealed record JobError(
    [property: Id(0)] ErrorCode? Code,
    [property: Id(1)] string Detail,
    [property: Id(2)] IReadOnlyList<Books.CodeIssue>? Offenders = null);

[GenerateSerializer, Immutable, Alias("CouponBooks.JobView")]
public sealed record JobView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] JobKind Kind,
    [property: Id(2)] JobState State,
    [property: Id(3)] long Total,
    [property: Id(4)] long Processed,
    [property: Id(5)] string? ResultJson,
    [property: Id(6)] JobError? Error,
    [property: Id(7)] DateTimeOffset CreatedAt,
    [property: Id(8)] DateTimeOffset? FinishedAt);

/// <summary>A long job's progress and result, resumed (or failed) after a silo dies. Keyed by the job id.</summary>
public interface IJobGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Starts the job once; a repeat changes nothing. False when the job exists with another request hash
    /// (its id was derived from an idempotency key used for another request).
    /// </summary>
    Task<bool> StartAsync(JobSpec spec);

    Task<JobView?> GetAsync();
}
