using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace CouponBooks.Api.Http;

/// <summary>The one mapping from error code to HTTP status, slug and title (API.md's error table).</summary>
public static class ApiProblems
{
    public static readonly TimeSpan UnavailableRetryAfter = TimeSpan.FromSeconds(5);

    public static int Status(ErrorCode code) => code switch
    {
        ErrorCode.ValidationFailed or ErrorCode.WeakPassword or ErrorCode.PatternCapacityExceeded or ErrorCode.InvalidCodes => StatusCodes.Status400BadRequest,
        ErrorCode.Unauthorized or ErrorCode.InvalidCredentials => StatusCodes.Status401Unauthorized,
        ErrorCode.Forbidden or ErrorCode.AccountDisabled => StatusCodes.Status403Forbidden,
        ErrorCode.NotFound => StatusCodes.Status404NotFound,
        ErrorCode.MethodNotAllowed => StatusCodes.Status405MethodNotAllowed,
        ErrorCode.PayloadTooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorCode.UnsupportedMediaType => StatusCodes.Status415UnsupportedMediaType,
        ErrorCode.IdempotencyKeyReused => StatusCodes.Status422UnprocessableEntity,
        ErrorCode.AccountLocked or ErrorCode.RateLimited => StatusCodes.Status429TooManyRequests,
        ErrorCode.ServiceUnavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status409Conflict,
    };

    public static string Slug(ErrorCode code) => code switch
    {
        ErrorCode.ValidationFailed => "validation-failed",
        ErrorCode.WeakPassword => "weak-password",
        ErrorCode.PatternCapacityExceeded => "pattern-capacity-exceeded",
        ErrorCode.InvalidCodes => "invalid-codes",
        ErrorCode.Unauthorized => "unauthorized",
        ErrorCode.InvalidCredentials => "invalid-credentials",
        ErrorCode.Forbidden => "forbidden",
        ErrorCode.AccountDisabled => "account-disabled",
        ErrorCode.NotFound => "not-found",
        ErrorCode.EmailTaken => "email-taken",
        ErrorCode.CodesExist => "codes-exist",
        ErrorCode.BookExhausted => "book-exhausted",
        ErrorCode.PerUserLimitReached => "per-user-limit-reached",
        ErrorCode.BookLimitReached => "book-limit-reached",
        ErrorCode.BookNotActive => "book-not-active",
        ErrorCode.CouponNotAvailable => "coupon-not-available",
        ErrorCode.InvalidTransition => "invalid-transition",
        ErrorCode.LockExpired => "lock-expired",
        ErrorCode.MethodNotAllowed => "method-not-allowed",
        ErrorCode.PayloadTooLarge => "payload-too-large",
        ErrorCode.UnsupportedMediaType => "unsupported-media-type",
        ErrorCode.IdempotencyKeyReused => "idempotency-key-reused",
        ErrorCode.AccountLocked => "account-locked",
        ErrorCode.RateLimited => "rate-limited",
        ErrorCode.ServiceUnavailable => "service-unavailable",
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, null),
    };

    public static string Title(ErrorCode code) => code switch
    {
        ErrorCode.ValidationFailed => "The request is not valid.",
        ErrorCode.WeakPassword => "The password is too weak.",
        ErrorCode.PatternCapacityExceeded => "The pattern cannot give that many new codes.",
        ErrorCode.InvalidCodes => "The upload holds invalid codes.",
        ErrorCode.Unauthorized => "Authentication is required.",
        ErrorCode.InvalidCredentials => "The email or password is wrong.",
        ErrorCode.Forbidden => "This is not allowed for the caller.",
        ErrorCode.AccountDisabled => "The account is disabled.",
        ErrorCode.NotFound => "Not found.",
        ErrorCode.EmailTaken => "The email is taken.",
        ErrorCode.CodesExist => "Some codes exist already.",
        ErrorCode.BookExhausted => "The book has no free code left.",
        ErrorCode.PerUserLimitReached => "The user holds as many coupons of this book as allowed.",
        ErrorCode.BookLimitReached => "The book gave out as many coupons as allowed.",
        ErrorCode.BookNotActive => "The book is outside its validity window.",
        ErrorCode.CouponNotAvailable => "The coupon is not available.",
        ErrorCode.InvalidTransition => "The coupon cannot make this move from its current state.",
        ErrorCode.LockExpired => "The coupon's lock has expired.",
        ErrorCode.MethodNotAllowed => "The method is not allowed on this resource.",
        ErrorCode.PayloadTooLarge => "The request body is too large.",
        ErrorCode.UnsupportedMediaType => "The request body's media type is not supported.",
        ErrorCode.IdempotencyKeyReused => "The idempotency key was used for another request.",
        ErrorCode.AccountLocked => "The account is locked after repeated failed sign-ins.",
        ErrorCode.RateLimited => "Too many requests.",
        ErrorCode.ServiceUnavailable => "The service is unavailable; try again shortly.",
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, null),
    };

    /// <summary>The code a bare status stands for (status code pages, authentication challenges, binding failures).</summary>
    public static ErrorCode? CodeForStatus(int status) => status switch
    {
        StatusCodes.Status400BadRequest => ErrorCode.ValidationFailed,
        StatusCodes.Status401Unauthorized => ErrorCode.Unauthorized,
        StatusCodes.Status403Forbidden => ErrorCode.Forbidden,
        StatusCodes.Status404NotFound => ErrorCode.NotFound,
        StatusCodes.Status405MethodNotAllowed => ErrorCode.MethodNotAllowed,
        StatusCodes.Status413PayloadTooLarge => ErrorCode.PayloadTooLarge,
        StatusCodes.Status415UnsupportedMediaType => ErrorCode.UnsupportedMediaType,
        StatusCodes.Status429TooManyRequests => ErrorCode.RateLimited,
        StatusCodes.Status503ServiceUnavailable => ErrorCode.ServiceUnavailable,
        _ => null,
    };

    public static ProblemDetails Details(ErrorCode code, string? detail, IDictionary<string, string[]>? errors = null, string? traceId = null)
    {
        ProblemDetails problem = errors is null ? new ProblemDetails() : new HttpValidationProblemDetails(errors);
        problem.Status = Status(code);
        problem.Title = Title(code);
        problem.Detail = detail;
        problem.Extensions["code"] = Slug(code);
        if ((traceId ?? Hosting.RequestTrace.CurrentId()) is { } trace)
        {
            problem.Extensions["traceId"] = trace;
        }

        return problem;
    }

    public static ProblemHttpResult Problem(ErrorCode code, string? detail = null) => TypedResults.Problem(Details(code, detail));

    /// <summary>A grain's refusal as problem details; a refusal with a retry delay also sets <c>Retry-After</c>.</summary>
    public static ProblemHttpResult Problem(this HttpContext context, Refusal refusal, string? traceId = null)
    {
        if (refusal.RetryAfter is { } retryAfter)
        {
            SetRetryAfter(context, retryAfter);
        }

        return TypedResults.Problem(refusal.Code == ErrorCode.ValidationFailed
            ? Details(refusal.Code, refusal.Detail, new Dictionary<string, string[]> { [refusal.Field ?? "request"] = [refusal.Detail] }, traceId)
            : Details(refusal.Code, refusal.Detail, traceId: traceId));
    }

    public static ProblemHttpResult ValidationFailed(IDictionary<string, string[]> errors, string? detail = null) =>
        TypedResults.Problem(Details(ErrorCode.ValidationFailed, detail ?? "One or more fields are not valid.", errors));

    public static ProblemHttpResult ValidationFailed(string field, string message) =>
        ValidationFailed(new Dictionary<string, string[]> { [field] = [message] }, message);

    public static void SetRetryAfter(HttpContext context, TimeSpan retryAfter) =>
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
