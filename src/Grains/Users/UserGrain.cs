using System.Security.Cryptography;
using CouponBooks.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CouponBooks.Users;

internal sealed class UserGrain(
    UserStore store,
    PasswordHasher hasher,
    IOptions<IdentityOptions> options,
    TimeProvider clock,
    [PersistentState(StorageNames.UserSecurity, StorageNames.Store)] IPersistentState<UserSecurityState> security,
    ILogger<UserGrain> logger) : Grain, IUserGrain
{
    private readonly IdentityOptions _options = options.Value;
    private UserRecord? _user;

    private Guid Id => this.GetPrimaryKey();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _user = await store.GetAsync(Id);
    }

    public Task<UserView?> GetAsync() => Task.FromResult(_user?.ToView());

    public async Task<Outcome<UserView>> RegisterAsync(Registration registration)
    {
        if (_user is not null)
        {
            return new Refusal(ErrorCode.EmailTaken, "This user exists already.");
        }

        string hash = await hasher.HashAsync(registration.Password);
        var created = await store.InsertAsync(Id, registration.Email, registration.DisplayName, registration.Role, hash);
        if (created is null)
        {
            return new Refusal(ErrorCode.EmailTaken, "A user with this email exists already.");
        }

        _user = created;
        logger.LogInformation("Registered user {UserId} as {Role}", Id, created.Role);
        return Outcome<UserView>.Success(created.ToView());
    }

    public async Task<Outcome<SignIn>> SignInAsync(string password)
    {
        if (_user is null)
        {
            await hasher.SpendVerifyTimeAsync(password);
            return SignInLockout.InvalidCredentials();
        }

        var now = clock.GetUtcNow();
        var state = security.State;
        if (SignInLockout.Refusal(state, now) is { } locked)
        {
            return locked;
        }

        if (!await hasher.VerifyAsync(password, _user.PasswordHash))
        {
            if (SignInLockout.Fail(state, now, _options))
            {
                logger.LogWarning("User {UserId} locked out until {LockedUntil} after repeated failed sign-ins", Id, state.LockedUntil);
            }

            await security.WriteStateAsync();
            return SignInLockout.InvalidCredentials();
        }

        if (_user.Disabled)
        {
            return new Refusal(ErrorCode.AccountDisabled, "This account is disabled.");
        }

        state.RecentFailures.Clear();
        state.LockedUntil = null;
        string token = OpenFamily(now);
        await security.WriteStateAsync();
        return Outcome<SignIn>.Success(new SignIn(Id, _user.Role, token));
    }

    public async Task<Outcome<SignIn>> RefreshAsync(string refreshToken)
    {
        var refused = new Refusal(ErrorCode.Unauthorized, "The refresh token is not valid.");
        if (_user is null || !RefreshTokenFormat.TryDecode(refreshToken, out var presented) || presented.UserId != Id)
        {
            return refused;
        }

        var now = clock.GetUtcNow();
        var families = security.State.RefreshFamilies;
        var family = families.Find(f => f.Id == presented.FamilyId);
        if (family is null || presented.Generation > family.Generation
            || !CryptographicOperations.FixedTimeEquals(Mac(family.Key, presented.Generation), presented.Mac))
        {
            return refused;
        }

        if (presented.Generation < family.Generation)
        {
            families.Remove(family);
            await security.WriteStateAsync();
            logger.LogWarning("Refresh token reuse for user {UserId}: token family {FamilyId} revoked", Id, family.Id);
            return refused;
        }

        if (family.ExpiresAt <= now || _user.Disabled)
        {
            families.Remove(family);
            await security.WriteStateAsync();
            return refused;
        }

        family.Generation++;
        family.ExpiresAt = now + _options.RefreshTokenLifetime;
        await security.WriteStateAsync();
        return Outcome<SignIn>.Success(new SignIn(Id, _user.Role, Token(family)));
    }

    public async Task<Outcome<UserView>> PatchAsync(UserPatch patch)
    {
        if (_user is null)
        {
            return new Refusal(ErrorCode.NotFound, "No such user.");
        }

        try
        {
            return await PatchOnceAsync(patch);
        }
        catch
        {
            // The update may have committed with only its answer lost (or before its notice went out): the next call
            // reads the user afresh, and the access grain finds a missed notice in the table.
            DeactivateOnIdle();
            throw;
        }
    }

    private async Task<Outcome<UserView>> PatchOnceAsync(UserPatch patch)
    {
        bool wasDisabled = _user!.Disabled;
        for (int attempt = 0; ; attempt++)
        {
            var changed = _user with
            {
                DisplayName = patch.SetDisplayName ? patch.DisplayName : _user.DisplayName,
                Role = patch.Role ?? _user.Role,
                Disabled = patch.Disabled ?? _user.Disabled,
            };
            var written = await store.UpdateAsync(changed);
            if (written is not null)
            {
                _user = written;
                break;
            }

            // Another writer changed the row since we read it: read again and apply the patch to that.
            _user = await store.GetAsync(Id) ?? throw new InvalidOperationException($"User {Id} vanished from the users table.");
            if (attempt >= 5)
            {
                throw new InvalidOperationException($"User {Id} keeps changing under a patch.");
            }
        }

        // Disabled: every refresh token goes (also when a first try committed the flag but failed before this).
        if (_user.Disabled && security.State.RefreshFamilies.Count > 0)
        {
            security.State.RefreshFamilies.Clear();
            await security.WriteStateAsync();
        }

        // Told whenever the patch names the flag, changed or not: a repeat of a patch whose first try failed after it
        // committed tells what the first could not (the access grain notifies only on a change).
        if (_user.Disabled != wasDisabled || patch.Disabled is not null)
        {
            await GrainFactory.GetGrain<IUserAccessGrain>(0).SetDisabledAsync(Id, _user.Disabled);
        }

        return Outcome<UserView>.Success(_user.ToView());
    }

    private string OpenFamily(DateTimeOffset now)
    {
        var families = security.State.RefreshFamilies;
        families.RemoveAll(f => f.ExpiresAt <= now);
        while (families.Count >= _options.MaxRefreshTokenFamilies)
        {
            families.Remove(families.MinBy(f => f.CreatedAt)!);
        }

        var family = new RefreshTokenFamily
        {
            Id = Guid.NewGuid(),
            Key = RandomNumberGenerator.GetBytes(32),
            Generation = 0,
            CreatedAt = now,
            ExpiresAt = now + _options.RefreshTokenLifetime,
        };
        families.Add(family);
        return Token(family);
    }

    private string Token(RefreshTokenFamily family) =>
        new RefreshTokenFormat(Id, family.Id, family.Generation, Mac(family.Key, family.Generation)).Encode();

    private static byte[] Mac(byte[] key, int generation) => HMACSHA256.HashData(key, BitConverter.GetBytes(generation));
}
