using System.Text;

namespace CouponBooks.Bench.Codes;

/// <summary>
/// Codes <c>PREFIX########</c> whose numbers are an affine bijection of 0..10^8-1 (multiplier coprime to 10), so
/// they are unique and arrive in scattered key order, as a generation's keyed permutation does, rather than
/// appending to the right edge of the primary key.
/// </summary>
public sealed class ScatteredCodes
{
    public const int Digits = 8;
    private const long Space = 100_000_000;
    private const long Multiplier = 61_803_399; // odd and not a multiple of 5: coprime to 10^8

    private readonly byte[] _prefix;
    private readonly long _offset;

    public ScatteredCodes(string prefix, int seed)
    {
        Prefix = prefix;
        _prefix = Encoding.ASCII.GetBytes(prefix);
        _offset = (long)(uint)seed % Space;
    }

    public string Prefix { get; }

    public int Length => _prefix.Length + Digits;

    public string Code(long index) => Prefix + Number(index).ToString("D8", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Writes code <paramref name="index"/> as ASCII into <paramref name="destination"/> (at least <see cref="Length"/> bytes).</summary>
    public void Write(long index, Span<byte> destination)
    {
        _prefix.CopyTo(destination);
        long n = Number(index);
        for (int i = Length - 1; i >= _prefix.Length; i--)
        {
            destination[i] = (byte)('0' + (int)(n % 10));
            n /= 10;
        }
    }

    private long Number(long index)
    {
        if ((ulong)index >= Space)
        {
            throw new ArgumentOutOfRangeException(nameof(index), "at most 10^8 codes per prefix");
        }

        return (index * Multiplier + _offset) % Space; // < 10^8 * 6.2 * 10^7: no overflow
    }
}
