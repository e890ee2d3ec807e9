namespace CouponBooks.Users;

/// <summary>
/// The lockout rule for failed sign-ins: <see cref="IdentityOptions.LockoutMaxFailedAttempts"/> failures inside
/// <see cref="IdentityOptions.LockoutWindow"/> lock for <see cref="IdentityOptions.LockoutDuration"/>. The same for an
/// account (<see cref="UserGrain"/>, kept with it) and for an email no account has (<see cref="UnknownSignInGrain"/>),
/// so that the lockout does not tell which emails have accounts.
/// </summary>
internal static class SignInLockout
{
    /// <summary>The refusal while locked, else null.</summary>
    public static Refusal? Refusal(UserSecurityState state, DateTimeOffset now) =>
        state.LockedUntil is { } lockedUntil && lockedUntil > now
            ? new Refusal(ErrorCode.AccountLocked, "Too many failed sign-ins; try again later.", lockedUntil - now)
            : null;

    /// <summary>Counts a failed sign-in; true when it locked.</summary>
    public static bool Fail(UserSecurityState state, DateTimeOffset now, IdentityOptions options)
    {
        state.RecentFailures.RemoveAll(at => at <= now - options.LockoutWindow);
        state.RecentFailures.Add(now);
        if (state.RecentFailures.Count < options.LockoutMaxFailedAttempts)
        {
            return false;
        }

        state.LockedUntil = now + options.LockoutDuration;
        state.RecentFailures.Clear();
        return true;
    }

    public static Refusal InvalidCredentials() => new(ErrorCode.InvalidCredentials, "The email or password is wrong.");
}
