using System.Globalization;
using System.Text;

namespace CouponBooks.Bench.Codes;

/// <summary>
/// Unique codes <c>PREFIX########</c>. <see cref="Sequential"/> numbers them 0, 1, 2…, so they reach the primary key
/// in key order; <see cref="Scattered"/> maps the index through an affine bijection of 0..10^8-1 (multiplier coprime
/// to 10), so they arrive in scattered key order, as a generation's keyed permutation or an arbitrary CSV does.
/// </summary>
public sealed class CodeSeries
{
    public const int Digits = 8;
    private const long Space = 100_000_000;
    private const long ScatterMultiplier = 61_803_399; // odd and not a multiple of 5: coprime to 10^8

    private readonly byte[] _prefix;
    private readonly long _multiplier;
    private readonly long _offset;

    private CodeSeries(string prefix, long multiplier, long offset)
    {
        Prefix = prefix;
        _prefix = Encoding.ASCII.GetBytes(prefix);
        _multiplier = multiplier;
        _offset = offset;
    }

    public static CodeSeries Sequential(string prefix) => new(prefix, 1, 0);

    public static CodeSeries Scattered(string prefix, int seed) => new(prefix, ScatterMultiplier, (uint)seed % Space);

    public string Prefix { get; }

    public bool IsScattered => _multiplier != 1;

    public int Length => _prefix.Length + Digits;

    public string Code(long index) => Prefix + Number(index).ToString("D8", CultureInfo.InvariantCulture);

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

        return (index * _multiplier + _offset) % Space; // < 10^8 * 6.2 * 10^7: no overflow
    }
}
