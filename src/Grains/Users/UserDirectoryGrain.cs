using System.Text;
using Orleans.Concurrency;

namespace CouponBooks.Users;

[StatelessWorker]
internal sealed class UserDirectoryGrain(UserStore store) : Grain, IUserDirectoryGrain
{
    public async Task<UserView?> FindByEmailAsync(string email) => (await store.FindByEmailAsync(email))?.ToView();

    public async Task<Outcome<SignIn>> SignInAsync(string email, string password)
    {
        var user = await store.FindByEmailAsync(email);
        return user is null
            ? await GrainFactory.GetGrain<IUnknownSignInGrain>(EmailKey(email)).SignInAsync(password)
            : await GrainFactory.GetGrain<IUserGrain>(user.Id).SignInAsync(password);
    }

    public async Task<UserPage> ListAsync(Guid? after, int limit)
    {
        var rows = await store.ListAsync(after, limit + 1);
        var items = rows.Take(limit).Select(r => r.ToView()).ToList();
        return new UserPage(items, rows.Count > limit ? items[^1].Id : null);
    }

    /// <summary>An email's comparison form, as the database's <c>email_key</c> makes it (NFC, lower case).</summary>
    private static string EmailKey(string email) => email.Normalize(NormalizationForm.FormC).ToLowerInvariant();
}
