using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using CouponBooks.Api.Auth;
using CouponBooks.Api.Http;
using CouponBooks.Books;
using CouponBooks.Coupons;
using CouponBooks.Users;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace CouponBooks.Api.Coupons;

/// <summary>The body of an assignment: whom to give the coupon (default: the caller).</summary>
public sealed record AssignRequest(Guid? UserId);

/// <summary>The body of an assignment of a named code (admin): the user is required.</summary>
public sealed record AssignCodeRequest([property: Required] Guid? UserId);

/// <summary>One transition of a coupon's history.</summary>
public sealed record HistoryResponse(
    DateTimeOffset At,
    [property: AllowedValues("assign", "lock", "unlock", "expire", "redeem")] string Action,
    [property: AllowedValues("UNASSIGNED", "ASSIGNED", "LOCKED", "REDEEMED")] string FromState,
    [property: AllowedValues("UNASSIGNED", "ASSIGNED", "LOCKED", "REDEEMED")] string ToState,
    Guid? UserId,
    Guid? ActorId);

/// <summary>Assignments, and a coupon's lock, unlock, redeem and history; the caller's and a user's coupons.</summary>
public static class CouponsApi
{
    private const string CouponCursor = "coupons";
    private const string KeyNote = " Accepts an `Idempotency-Key` header (1..255 characters): a repeat within 24 h answers the first status and body; the same key with another path or body is 422 `idempotency-key-reused`. Too many commands by one caller are 429 `rate-limited` with `Retry-After`.";

    public static IEndpointRouteBuilder MapCouponsApi(this IEndpointRouteBuilder app)
    {
        var books = app.MapGroup("/api/v1/books").WithTags("Assignments").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        books.MapPost("/{id:guid}/assignments", AssignRandomAsync)
            .RequireRateLimiting(RateLimits.CouponCommandsPolicy)
            .WithKeyedBody()
            .WithSummary("Give a random free code of the book to a user (default: the caller).")
            .WithDescription("A USER may only assign to itself. Refusals: 403 `forbidden`, 404 `not-found` (book or user), 409 `book-not-active`, `book-limit-reached`, `per-user-limit-reached`, `book-exhausted`." + KeyNote)
            .Produces<CouponResponse>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        books.MapPost("/{id:guid}/assignments/{code}", AssignCodeAsync)
            .RequireRateLimiting(RateLimits.CouponCommandsPolicy)
            .WithKeyedBody()
            .RequireAuthorization(AuthSetup.AdminPolicy)
            .WithSummary("Give one named code of the book to a user, within the same limits.")
            .WithDescription("Refusals: 404 `not-found` (book, user, or a code of another book), 409 `coupon-not-available` (not UNASSIGNED), `book-not-active`, `book-limit-reached`, `per-user-limit-reached`." + KeyNote)
            .Produces<CouponResponse>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        var coupons = app.MapGroup("/api/v1/coupons").WithTags("Coupons").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .AddEndpointFilter<CouponGuessingFilter>();

        coupons.MapGet("/{code}", GetAsync)
            .WithSummary("A coupon, to its owner or an admin (anyone else: 404). An expired lock reads as ASSIGNED.")
            .Produces<CouponResponse>();

        coupons.MapPost("/{code}/lock", (string code, HttpContext http, IClusterClient cluster) => CommandAsync(code, CouponCommandKind.Lock, http, cluster))
            .RequireRateLimiting(RateLimits.CouponCommandsPolicy)
            .WithIdempotencyKey()
            .WithSummary("Reserve an ASSIGNED coupon during checkout: LOCKED until now + the book's lockTtlSeconds.")
            .WithDescription("Refusals: 404 `not-found`, 409 `invalid-transition` (detail names the current state), `book-not-active`." + KeyNote)
            .Produces<CouponResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        coupons.MapPost("/{code}/unlock", (string code, HttpContext http, IClusterClient cluster) => CommandAsync(code, CouponCommandKind.Unlock, http, cluster))
            .RequireRateLimiting(RateLimits.CouponCommandsPolicy)
            .WithIdempotencyKey()
            .WithSummary("Release a LOCKED coupon (back to ASSIGNED).")
            .WithDescription("Refusals: 404 `not-found`, 409 `invalid-transition` (also after the lock ran out). Allowed outside the book's validity window: it only gives the reservation back." + KeyNote)
            .Produces<CouponResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        coupons.MapPost("/{code}/redeem", (string code, HttpContext http, IClusterClient cluster) => CommandAsync(code, CouponCommandKind.Redeem, http, cluster))
            .RequireRateLimiting(RateLimits.CouponCommandsPolicy)
            .WithIdempotencyKey()
            .WithSummary("Redeem a LOCKED coupon: REDEEMED, or back to ASSIGNED while the book allows more redemptions.")
            .WithDescription("Refusals: 404 `not-found`, 409 `lock-expired` (the lock ran out; lock again), `invalid-transition`, `book-not-active`." + KeyNote)
            .Produces<CouponResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        coupons.MapGet("/{code}/history", HistoryAsync)
            .WithSummary("Every transition of the coupon from its assignment on, oldest first.")
            .Produces<List<HistoryResponse>>();

        var users = app.MapGroup("/api/v1/users").WithTags("Users").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        users.MapGet("/me/coupons", (HttpContext http, IClusterClient cluster, Guid? bookId, [AllowedValues("UNASSIGNED", "ASSIGNED", "LOCKED", "REDEEMED")] string? state, int? limit, string? cursor) =>
                ListAsync(Caller.From(http.User).UserId, checkUser: false, cluster, bookId, state, limit, cursor))
            .WithSummary("The caller's coupons, optionally of one book (`bookId`) and in one `state`.")
            .Produces<Page<CouponResponse>>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        users.MapGet("/{id:guid}/coupons", (Guid id, IClusterClient cluster, Guid? bookId, [AllowedValues("UNASSIGNED", "ASSIGNED", "LOCKED", "REDEEMED")] string? state, int? limit, string? cursor) =>
                ListAsync(id, checkUser: true, cluster, bookId, state, limit, cursor))
            .RequireAuthorization(AuthSetup.AdminPolicy)
            .WithSummary("A user's coupons (admin).")
            .Produces<Page<CouponResponse>>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<IResult> AssignRandomAsync(
        Guid id, [FromBody(EmptyBodyBehavior = EmptyBodyBehavior.Allow)] AssignRequest? request, HttpContext http, IClusterClient cluster)
    {
        var caller = Caller.From(http.User);
        var userId = request?.UserId ?? caller.UserId;
        if (await CheckTargetAsync(caller, userId, cluster) is { } problem)
        {
            return problem;
        }

        var command = new CouponCommand(CouponCommandKind.AssignRandom, Actor(caller), id, null, userId);
        return await CouponCommands.RunAsync(http, cluster, command, StatusCodes.Status201Created,
            () => cluster.GetGrain<IBookGrain>(id).AssignRandomAsync(userId, caller.UserId, null));
    }

    private static async Task<IResult> AssignCodeAsync(Guid id, string code, AssignCodeRequest request, HttpContext http, IClusterClient cluster)
    {
        var caller = Caller.From(http.User);
        if (request.UserId is not { } userId)
        {
            return ApiProblems.ValidationFailed("userId", "userId is required.");
        }

        if (await CheckTargetAsync(caller, userId, cluster) is { } problem)
        {
            return problem;
        }

        if (Normalize(code) is not { } normalized)
        {
            return ApiProblems.Problem(ErrorCode.NotFound, "This book has no such code.");
        }

        var command = new CouponCommand(CouponCommandKind.AssignCode, Actor(caller), id, normalized, userId);
        return await CouponCommands.RunAsync(http, cluster, command, StatusCodes.Status201Created,
            () => cluster.GetGrain<IBookGrain>(id).AssignCodeAsync(normalized, userId, caller.UserId, null));
    }

    private static async Task<IResult> GetAsync(string code, HttpContext http, IClusterClient cluster)
    {
        if (Normalize(code) is not { } normalized)
        {
            return NoSuchCoupon();
        }

        var outcome = await cluster.GetGrain<ICouponGrain>(normalized).GetAsync(Actor(Caller.From(http.User)));
        return outcome.Refusal is { } refusal ? http.Problem(refusal) : TypedResults.Ok(CouponResponse.From(outcome.Value!));
    }

    private static async Task<IResult> CommandAsync(string code, CouponCommandKind kind, HttpContext http, IClusterClient cluster)
    {
        if (Normalize(code) is not { } normalized)
        {
            return NoSuchCoupon();
        }

        var actor = Actor(Caller.From(http.User));
        var coupon = cluster.GetGrain<ICouponGrain>(normalized);
        return await CouponCommands.RunAsync(http, cluster, new CouponCommand(kind, actor, null, normalized, null), StatusCodes.Status200OK, kind switch
        {
            CouponCommandKind.Lock => () => coupon.LockAsync(actor, null),
            CouponCommandKind.Unlock => () => coupon.UnlockAsync(actor, null),
            _ => () => coupon.RedeemAsync(actor, null),
        });
    }

    private static async Task<IResult> HistoryAsync(string code, HttpContext http, IClusterClient cluster)
    {
        if (Normalize(code) is not { } normalized)
        {
            return NoSuchCoupon();
        }

        var outcome = await cluster.GetGrain<ICouponGrain>(normalized).GetHistoryAsync(Actor(Caller.From(http.User)));
        if (outcome.Refusal is { } refusal)
        {
            return http.Problem(refusal);
        }

        return TypedResults.Ok(outcome.Value!.Select(h => new HistoryResponse(
            h.At, h.Action.ToString().ToLowerInvariant(), CouponResponse.StateName(h.FromState), CouponResponse.StateName(h.ToState), h.UserId, h.ActorId)).ToList());
    }

    private static async Task<IResult> ListAsync(Guid userId, bool checkUser, IClusterClient cluster, Guid? bookId, string? state, int? limit, string? cursor)
    {
        var errors = new FieldErrors();
        int size = Paging.Limit(limit, errors);
        errors.Check(CouponResponse.TryParseState(state, out var wanted), "state", "state is UNASSIGNED, ASSIGNED, LOCKED or REDEEMED.");
        string? after = Paging.CodeCursor(cursor, CouponCursor, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        if (checkUser && await cluster.GetGrain<IUserGrain>(userId).GetAsync() is null)
        {
            return ApiProblems.Problem(ErrorCode.NotFound, "No such user.");
        }

        var page = await cluster.GetGrain<ICouponDirectoryGrain>(0).ListAsync(new CouponQuery(bookId, userId, wanted, after, size));
        return TypedResults.Ok(Paging.ToPage(page.Items, page.NextCode, CouponCursor, CouponResponse.From));
    }

    /// <summary>A USER may only act for itself; an admin may name any existing user.</summary>
    private static async Task<IResult?> CheckTargetAsync(Caller caller, Guid userId, IClusterClient cluster)
    {
        if (!caller.MayActFor(userId))
        {
            return ApiProblems.Problem(ErrorCode.Forbidden, "A USER may only assign coupons to itself.");
        }

        if (userId != caller.UserId && await cluster.GetGrain<IUserGrain>(userId).GetAsync() is null)
        {
            return ApiProblems.Problem(ErrorCode.NotFound, "No such user.");
        }

        return null;
    }

    /// <summary>The stored form of a code from a path; null when it cannot be a code at all.</summary>
    private static string? Normalize(string code)
    {
        string normalized = CouponCode.Normalize(code);
        return CouponCode.Validate(normalized) is null ? normalized : null;
    }

    private static Actor Actor(Caller caller) => new(caller.UserId, caller.IsAdmin);

    private static ProblemHttpResult NoSuchCoupon() => ApiProblems.Problem(ErrorCode.NotFound, "No such coupon.");
}
