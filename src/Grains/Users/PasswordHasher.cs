using Microsoft.Extensions.Options;

namespace CouponBooks.Users;

/// <summary>bcrypt over a SHA-384 pre-hash (so passwords longer than bcrypt's 72 bytes count whole), run off the grain scheduler.</summary>
public sealed class PasswordHasher(IOptions<IdentityOptions> options)
{
    private const BCrypt.Net.HashType PreHash = BCrypt.Net.HashType.SHA384;
    private readonly Lazy<string> _decoy = new(() => BCrypt.Net.BCrypt.EnhancedHashPassword(Guid.NewGuid().ToString(), PreHash, options.Value.BcryptWorkFactor));

    public Task<string> HashAsync(string password) =>
        Task.Run(() => BCrypt.Net.BCrypt.EnhancedHashPassword(password, PreHash, options.Value.BcryptWorkFactor));

    public Task<bool> VerifyAsync(string password, string hash) =>
        Task.Run(() => BCrypt.Net.BCrypt.EnhancedVerify(password, hash, PreHash));

    /// <summary>Spends the time of a real check, so an unknown email cannot be told apart by timing.</summary>
    public Task SpendVerifyTimeAsync(string password) =>
        Task.Run(() => BCrypt.Net.BCrypt.EnhancedVerify(password, _decoy.Value, PreHash));
}
