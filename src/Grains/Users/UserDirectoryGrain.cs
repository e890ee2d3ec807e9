using Orleans.Concurrency;

namespace CouponBooks.Users;

[StatelessWorker]
internal sealed class UserDirectoryGrain(UserStore store, PasswordHasher hasher) : Grain, IUserDirectoryGrain
{
    public async Task<UserView?> FindByEmailAsync(string email) => (await store.FindByEmailAsync(email))?.ToView();

    public async Task<Outcome<SignIn>> SignInAsync(string email, string password)
    {
        var user = await store.FindByEmailAsync(email);
        if (user is null)
        {
            await hasher.SpendVerifyTimeAsync(password);
            return new Refusal(ErrorCode.InvalidCredentials, "The email or password is wrong.");
        }

        return await GrainFactory.GetGrain<IUserGrain>(user.Id).SignInAsync(password);
    }

    public async Task<UserPage> ListAsync(Guid? after, int limit)
    {
        var rows = await store.ListAsync(after, limit + 1);
        var items = rows.Take(limit).Select(r => r.ToView()).ToList();
        return new UserPage(items, rows.Count > limit ? items[^1].Id : null);
    }
}
