using Microsoft.Extensions.Options;

namespace CouponBooks.Users;

/// <summary>
/// Sign-ins with an email no account has, keyed by the email's comparison form: each costs a password check's time and
/// is refused like a wrong password, and they lock the email as failures lock an account. Kept in memory (there is
/// no account to keep it with); the activation stays while a failure or a lock still counts.
/// </summary>
internal sealed class UnknownSignInGrain(PasswordHasher hasher, IOptions<IdentityOptions> options, TimeProvider clock) : Grain, IUnknownSignInGrain
{
    private readonly UserSecurityState _state = new();

    public async Task<Outcome<SignIn>> SignInAsync(string password)
    {
        var now = clock.GetUtcNow();
        if (SignInLockout.Refusal(_state, now) is { } locked)
        {
            return locked;
        }

        await hasher.SpendVerifyTimeAsync(password);
        SignInLockout.Fail(_state, now, options.Value);
        DelayDeactivation(options.Value.LockoutWindow + options.Value.LockoutDuration);
        return SignInLockout.InvalidCredentials();
    }
}
