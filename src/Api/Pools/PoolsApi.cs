using System.ComponentModel.DataAnnotations;
using CouponBooks.Api.Audit;
using CouponBooks.Api.Auth;
using CouponBooks.Api.Books;
using CouponBooks.Api.Coupons;
using CouponBooks.Api.Hosting;
using CouponBooks.Api.Http;
using CouponBooks.Api.Jobs;
using CouponBooks.Api.Users;
using CouponBooks.Coupons;
using CouponBooks.Pools;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CouponBooks.Api.Pools;

public sealed record CreatePoolRequest([property: Required] string? Name, string? Description);

public sealed record PoolResponse(Guid Id, string Name, string? Description, DateTimeOffset CreatedAt, long MemberCount)
{
    public static PoolResponse From(PoolView pool) => new(pool.Id, pool.Name, pool.Description, pool.CreatedAt, pool.MemberCount);
}

public sealed record AddMembersRequest(List<Guid>? UserIds, List<string>? Emails);

public sealed record AddMembersResponse(long Added, long AlreadyMembers, IReadOnlyList<string> Unknown);

public sealed record DistributionRequest([property: Required] Guid? BookId, [property: Required, AllowedValues("equal", "random")] string? Mode, int? PerUser, long? Total, long? Seed);

public sealed record DistributionResponse(long Requested, long Assigned, long SkippedUserLimit, long SkippedBookLimit, bool Exhausted, long Seed)
{
    public static DistributionResponse From(DistributionResult r) => new(r.Requested, r.Assigned, r.SkippedUserLimit, r.SkippedBookLimit, r.Exhausted, r.Seed);
}

/// <summary>Pools of users and bulk distribution of a book's codes to them (admin).</summary>
public static class PoolsApi
{
    public const int MaxMembersPerRequest = 10_000;
    public const int MaxPerUser = 1000;
    public const long MaxRandomTotal = 10_000_000;
    private const string PoolCursor = "pools";
    private const string MemberCursor = "members";

    public static IEndpointRouteBuilder MapPoolsApi(this IEndpointRouteBuilder app)
    {
        var pools = app.MapGroup("/api/v1/pools").WithTags("Pools").RequireAuthorization(AuthSetup.AdminPolicy)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        pools.MapPost("/", CreateAsync).WithSummary("Create a pool.").ProducesProblem(StatusCodes.Status400BadRequest);
        pools.MapGet("/", ListAsync).WithSummary("List pools, each with its memberCount.").ProducesProblem(StatusCodes.Status400BadRequest);
        pools.MapGet("/{id:guid}", GetAsync).WithSummary("One pool.").ProducesProblem(StatusCodes.Status404NotFound);
        pools.MapDelete("/{id:guid}", DeleteAsync)
            .WithSummary("Delete a pool and its member list; coupons already given stay with their users.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        pools.MapGet("/{id:guid}/members", MembersAsync)
            .WithSummary("A pool's members (users), paged.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        pools.MapPost("/{id:guid}/members", AddMembersAsync)
            .WithSummary("Add users by id and/or email (case-insensitive), at most 10,000 in all.")
            .WithDescription("Answers `added` and `alreadyMembers` (counts) and `unknown` (the ids and emails given that match no user). Errors: 400 `validation-failed`, 404 `not-found`.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        pools.MapDelete("/{id:guid}/members/{userId:guid}", RemoveMemberAsync)
            .WithSummary("Remove a member.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        pools.MapPost("/{id:guid}/distributions", DistributeAsync)
            .WithKeyedBody()
            .WithSummary("Give a book's codes to the pool's members, as a job (`?dryRun=true`: the result now, nothing given).")
            .WithDescription("`mode` equal: every member gets `perUser` (1..1000, default 1). `mode` random: `total` (1..10,000,000) coupons go one at a time to a member drawn at random among those below the per-user limit; pass `seed` to repeat a draw. Both obey the validity window and the limits and stop when free codes run out. The job's result is `{requested, assigned, skippedUserLimit, skippedBookLimit, exhausted, seed}`. An `Idempotency-Key` (the caller's, shared with its coupon commands) makes a repeat within 24 h answer the first response, the job or the refusal, and start nothing; a dry run ignores the key. Errors: 400 `validation-failed`, 404 `not-found` (pool or book), 409 `book-not-active`, 422 `idempotency-key-reused`.")
            .Produces<JobAccepted>(StatusCodes.Status202Accepted)
            .Produces<DistributionResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
        return app;
    }

    private static async Task<Results<Created<PoolResponse>, ProblemHttpResult>> CreateAsync(CreatePoolRequest request, IClusterClient cluster, AuditLog audit, HttpContext http)
    {
        var errors = new FieldErrors();
        string? name = request.Name?.Trim();
        errors.Check(!string.IsNullOrEmpty(name) && name.Length <= 200 && !UserInput.HasControlCharacters(name), "name", "A name of 1..200 characters is required.");
        errors.Check(request.Description is null || (request.Description.Length <= 2000 && !request.Description.Contains('\0')), "description", "description is at most 2000 characters.");
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var outcome = await cluster.GetGrain<IPoolGrain>(Guid.CreateVersion7()).CreateAsync(name!, request.Description);
        if (outcome.Refusal is { } refusal)
        {
            return http.Problem(refusal);
        }

        var pool = PoolResponse.From(outcome.Value!);
        await audit.RecordAsync(http, AuditActions.PoolCreated, AuditTargets.Pool, pool.Id, new { pool.Name, pool.Description });
        return TypedResults.Created($"/api/v1/pools/{pool.Id}", pool);
    }

    private static async Task<Results<Ok<Page<PoolResponse>>, ProblemHttpResult>> ListAsync(IClusterClient cluster, int? limit, string? cursor)
    {
        var errors = new FieldErrors();
        int size = Paging.Limit(limit, errors);
        Guid? after = Paging.GuidCursor(cursor, PoolCursor, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var page = await cluster.GetGrain<IPoolDirectoryGrain>(0).ListAsync(after, size);
        return TypedResults.Ok(Paging.ToPage(page.Items, page.Next, PoolCursor, PoolResponse.From));
    }

    private static async Task<Results<Ok<PoolResponse>, ProblemHttpResult>> GetAsync(Guid id, IClusterClient cluster)
    {
        var pool = await cluster.GetGrain<IPoolGrain>(id).GetAsync();
        return pool is null ? NoSuchPool() : TypedResults.Ok(PoolResponse.From(pool));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(Guid id, IClusterClient cluster, AuditLog audit, HttpContext http)
    {
        var grain = cluster.GetGrain<IPoolGrain>(id);
        // Read first, so the entry can name what was deleted.
        var pool = await grain.GetAsync();
        if (pool is null || !await grain.DeleteAsync())
        {
            return NoSuchPool();
        }

        await audit.RecordAsync(http, AuditActions.PoolDeleted, AuditTargets.Pool, id, new { pool.Name, pool.MemberCount });
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<Page<UserResponse>>, ProblemHttpResult>> MembersAsync(Guid id, IClusterClient cluster, int? limit, string? cursor)
    {
        var errors = new FieldErrors();
        int size = Paging.Limit(limit, errors);
        Guid? after = Paging.GuidCursor(cursor, MemberCursor, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        if (await cluster.GetGrain<IPoolGrain>(id).GetAsync() is null)
        {
            return NoSuchPool();
        }

        var page = await cluster.GetGrain<IPoolDirectoryGrain>(0).MembersAsync(id, after, size);
        return TypedResults.Ok(Paging.ToPage(page.Items, page.Next, MemberCursor, UserResponse.From));
    }

    private static async Task<Results<Ok<AddMembersResponse>, ProblemHttpResult>> AddMembersAsync(Guid id, AddMembersRequest request, IClusterClient cluster, AuditLog audit, HttpContext http)
    {
        var errors = new FieldErrors();
        var userIds = request.UserIds ?? [];
        var emails = request.Emails ?? [];
        errors.Check(userIds.Count + emails.Count is >= 1 and <= MaxMembersPerRequest, "userIds", $"Give 1..{MaxMembersPerRequest:N0} user ids and emails in all.");
        errors.Check(emails.All(e => e is not null && e.Length <= UserInput.MaxEmailLength && !UserInput.HasControlCharacters(e)), "emails", "Every email is a string of at most 254 characters.");
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var outcome = await cluster.GetGrain<IPoolGrain>(id).AddMembersAsync(userIds, emails);
        if (outcome.Refusal is { } refusal)
        {
            return http.Problem(refusal);
        }

        var added = outcome.Value!;
        await audit.RecordAsync(http, AuditActions.PoolMembersAdded, AuditTargets.Pool, id, new
        {
            userIds = userIds.Count, emails = emails.Count, added.Added, added.AlreadyMembers, unknown = added.Unknown.Count,
        });
        return TypedResults.Ok(new AddMembersResponse(added.Added, added.AlreadyMembers, added.Unknown));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RemoveMemberAsync(Guid id, Guid userId, IClusterClient cluster, AuditLog audit, HttpContext http)
    {
        var outcome = await cluster.GetGrain<IPoolGrain>(id).RemoveMemberAsync(userId);
        if (outcome.Refusal is { } refusal)
        {
            return http.Problem(refusal);
        }

        await audit.RecordAsync(http, AuditActions.PoolMembersRemoved, AuditTargets.Pool, id, new { userId });
        return TypedResults.NoContent();
    }

    private static async Task<IResult> DistributeAsync(Guid id, DistributionRequest request, bool? dryRun, IClusterClient cluster, AuditLog audit, HttpContext http)
    {
        var errors = new FieldErrors();
        errors.Check(request.BookId is not null, "bookId", "bookId is required.");
        var mode = request.Mode?.ToLowerInvariant() switch
        {
            "equal" => DistributionMode.Equal,
            "random" => DistributionMode.Random,
            _ => (DistributionMode?)null,
        };
        errors.Check(mode is not null, "mode", "mode is equal or random.");
        int perUser = request.PerUser ?? 1;
        if (mode == DistributionMode.Equal)
        {
            errors.Check(perUser is >= 1 and <= MaxPerUser, "perUser", $"perUser is 1..{MaxPerUser}.");
        }

        if (mode == DistributionMode.Random)
        {
            errors.Check(request.Total is >= 1 and <= MaxRandomTotal, "total", $"total is required for random, 1..{MaxRandomTotal:N0}.");
        }

        string? key = http.Request.Headers[CouponCommands.IdempotencyHeader].Count switch
        {
            0 => null,
            1 => http.Request.Headers[CouponCommands.IdempotencyHeader][0],
            _ => string.Empty,
        };
        errors.Check(key is null || CouponCommands.IsValidKey(key), CouponCommands.IdempotencyHeader, "Send one Idempotency-Key of 1..255 characters, none of them a control character.");
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        long seed = request.Seed ?? Random.Shared.NextInt64(0, int.MaxValue);
        var spec = new DistributionSpec(request.BookId!.Value, mode!.Value, perUser, mode == DistributionMode.Random ? request.Total!.Value : 0, seed);
        var caller = Caller.From(http.User);
        Outcome<DistributionStart> outcome;
        string? firstTraceId = null;
        if (key is null || dryRun == true)
        {
            // Nothing to repeat safely for: every request without a key is a new job, and a dry run changes nothing.
            outcome = await cluster.GetGrain<IPoolGrain>(id).DistributeAsync(spec, dryRun ?? false, Guid.CreateVersion7(), [], caller.UserId);
        }
        else
        {
            // The caller's key, shared with its coupon commands: a repeat answers the first job or refusal.
            var keyed = await cluster.GetGrain<IIdempotencyGrain>($"{caller.UserId:N}/{key}").DistributeAsync(
                id, spec, caller.UserId, http.Request.Path.Value!.ToUpperInvariant(), await CouponCommands.BodyHashAsync(http.Request), RequestTrace.CurrentId());
            outcome = keyed.Outcome;
            firstTraceId = keyed.TraceId;
        }

        if (outcome.Refusal is { } refusal)
        {
            return firstTraceId is null ? http.Problem(refusal) : CouponCommands.Replayable(http, refusal, firstTraceId);
        }

        if (outcome.Value!.DryRun is { } result)
        {
            return TypedResults.Ok(DistributionResponse.From(result));
        }

        var started = outcome.Value.JobId!.Value;
        // Named by the job: a retry with the same Idempotency-Key answers the same job and adds no second entry.
        await audit.RecordAsync(http, AuditActions.PoolDistributionStarted, AuditTargets.Pool, id, new
        {
            jobId = started, spec.BookId, mode = request.Mode!.ToLowerInvariant(), perUser = mode == DistributionMode.Equal ? perUser : (int?)null,
            total = mode == DistributionMode.Random ? spec.Total : (long?)null, spec.Seed,
        }, id: started);
        return TypedResults.Accepted(JobsApi.Location(started), new JobAccepted(started));
    }

    private static ProblemHttpResult NoSuchPool() => ApiProblems.Problem(ErrorCode.NotFound, "No such pool.");
}
