namespace CouponBooks;

/// <summary>The business refusals of the REST contract; the Api maps each to its status and slug in one place.</summary>
public enum ErrorCode
{
    ValidationFailed,
    WeakPassword,
    PatternCapacityExceeded,
    InvalidCodes,
    Unauthorized,
    InvalidCredentials,
    Forbidden,
    AccountDisabled,
    NotFound,
    EmailTaken,
    CodesExist,
    BookExhausted,
    PerUserLimitReached,
    BookLimitReached,
    BookNotActive,
    CouponNotAvailable,
    InvalidTransition,
    LockExpired,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    IdempotencyKeyReused,
    AccountLocked,
    RateLimited,
    ServiceUnavailable,
}
