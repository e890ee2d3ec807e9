using System.Buffers.Binary;
using System.Buffers.Text;

namespace CouponBooks.Users;

/// <summary>
/// The wire form of a refresh token: user id, token family, generation and a MAC, base64url-encoded.
/// The user id tells the Api which UserGrain to ask; only that grain can check the MAC.
/// </summary>
public readonly record struct RefreshTokenFormat(Guid UserId, Guid FamilyId, int Generation, byte[] Mac)
{
    public const int MacLength = 32;
    private const int Length = 16 + 16 + 4 + MacLength;

    public string Encode()
    {
        Span<byte> bytes = stackalloc byte[Length];
        UserId.TryWriteBytes(bytes[..16]);
        FamilyId.TryWriteBytes(bytes[16..32]);
        BinaryPrimitives.WriteInt32BigEndian(bytes[32..36], Generation);
        Mac.CopyTo(bytes[36..]);
        return Base64Url.EncodeToString(bytes);
    }

    public static bool TryDecode(string? token, out RefreshTokenFormat value)
    {
        value = default;
        if (string.IsNullOrEmpty(token) || token.Length > 128 || !Base64Url.IsValid(token))
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[96];
        if (!Base64Url.TryDecodeFromChars(token, bytes, out int written) || written != Length)
        {
            return false;
        }

        value = new RefreshTokenFormat(
            new Guid(bytes[..16]),
            new Guid(bytes[16..32]),
            BinaryPrimitives.ReadInt32BigEndian(bytes[32..36]),
            bytes[36..Length].ToArray());
        return value.Generation >= 0;
    }
}
