using Orleans.Concurrency;

namespace CouponBooks.Users;

/// <summary>One user's identity and security state. Keyed by the user id.</summary>
public interface IUserGrain : IGrainWithGuidKey
{
    Task<Outcome<UserView>> RegisterAsync(Registration registration);

    Task<UserView?> GetAsync();

    /// <summary>Checks a password, counting failures towards the lockout, and opens a new refresh-token family.</summary>
    Task<Outcome<SignIn>> SignInAsync(string password);

    /// <summary>Rotates a refresh token; a reused one revokes its whole family.</summary>
    Task<Outcome<SignIn>> RefreshAsync(string refreshToken);

    Task<Outcome<UserView>> PatchAsync(UserPatch patch);
}

/// <summary>Reads over all users (lookup by email, listing). Stateless; answers from the users table.</summary>
public interface IUserDirectoryGrain : IGrainWithIntegerKey
{
    Task<UserView?> FindByEmailAsync(string email);

    /// <summary>Signs in by email; an unknown email costs the same time, gets the same refusal and locks out the same way as a wrong password.</summary>
    Task<Outcome<SignIn>> SignInAsync(string email, string password);

    Task<UserPage> ListAsync(Guid? after, int limit);
}

/// <summary>Sign-ins with an email no account has (keyed by the email's comparison form), locked out like an account's.</summary>
public interface IUnknownSignInGrain : IGrainWithStringKey
{
    Task<Outcome<SignIn>> SignInAsync(string password);
}

/// <summary>Told whenever a user is disabled or enabled again.</summary>
public interface IUserAccessObserver : IGrainObserver
{
    [OneWay]
    Task OnAccessChangedAsync(Guid userId, bool disabled);
}

/// <summary>The set of disabled users, pushed to every Api process so a disabled user's tokens stop working at once.</summary>
public interface IUserAccessGrain : IGrainWithIntegerKey
{
    Task<IReadOnlyCollection<Guid>> SubscribeAsync(IUserAccessObserver observer);

    Task UnsubscribeAsync(IUserAccessObserver observer);

    Task SetDisabledAsync(Guid userId, bool disabled);
}
