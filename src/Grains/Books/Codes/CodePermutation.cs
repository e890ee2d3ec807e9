using System.Buffers.Binary;
using System.Numerics;

namespace CouponBooks.Books.Codes;

/// <summary>
/// A keyed bijection of [0, <see cref="Domain"/>) for domains up to <see cref="MaxDomain"/>: a balanced
/// six-round Feistel network over the smallest even bit width that covers the domain, with cycle-walking
/// for values that land outside it. Counters 0, 1, 2, ... come out distinct and in an order that does
/// not show, to whoever lacks the key. It hides order; it is not a cryptographic cipher.
/// Immutable and safe to share between threads.
/// </summary>
public sealed class CodePermutation
{
    /// <summary>The largest domain (2^62) the permutation serves; larger code spaces draw random codes instead.</summary>
    public const ulong MaxDomain = 1UL << 62;

    private const int Rounds = 6;
    private const ulong Golden = 0x9E3779B97F4A7C15;

    private readonly ulong[] _roundKeys = new ulong[Rounds];
    private readonly int _halfBits;
    private readonly ulong _halfMask;

    /// <param name="domain">The size N of the permuted range [0, N), 1..<see cref="MaxDomain"/>.</param>
    /// <param name="key">16 or 32 secret bytes; the same key and domain always give the same permutation.</param>
    public CodePermutation(ulong domain, ReadOnlySpan<byte> key)
    {
        if (domain is 0 or > MaxDomain)
        {
            throw new ArgumentOutOfRangeException(nameof(domain), domain, $"the domain must be 1..{MaxDomain}");
        }

        EnsureKeyLength(key);
        Domain = domain;

        int bits = domain == 1 ? 0 : 64 - BitOperations.LeadingZeroCount(domain - 1);
        _halfBits = (bits + 1) / 2;
        _halfMask = (1UL << _halfBits) - 1;

        Span<ulong> words = stackalloc ulong[key.Length / 8];
        ulong absorbed = Golden ^ (ulong)key.Length;
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = BinaryPrimitives.ReadUInt64LittleEndian(key[(i * 8)..]);
            absorbed = Mix(absorbed ^ words[i]) + Golden;
        }

        // Every round key depends on the whole key through the absorbed state.
        for (int round = 0; round < Rounds; round++)
        {
            _roundKeys[round] = Mix(absorbed + (ulong)(round + 1) * Golden) ^ words[round % words.Length];
        }
    }

    /// <summary>The size N of the permuted range [0, N).</summary>
    public ulong Domain { get; }

    /// <summary>The image of <paramref name="value"/>, which must lie in [0, <see cref="Domain"/>).</summary>
    public ulong Permute(ulong value)
    {
        if (value >= Domain)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, $"the permutation covers 0..{Domain - 1}");
        }

        if (_halfBits == 0)
        {
            return value;
        }

        // Walks the cycle of the permutation of [0, 2^(2k)) until it is back inside the domain.
        do
        {
            value = Encrypt(value);
        }
        while (value >= Domain);

        return value;
    }

    internal static void EnsureKeyLength(ReadOnlySpan<byte> key)
    {
        if (key.Length is not (16 or 32))
        {
            throw new ArgumentException($"the key must have 16 or 32 bytes, not {key.Length}", nameof(key));
        }
    }

    private ulong Encrypt(ulong value)
    {
        ulong left = value >> _halfBits;
        ulong right = value & _halfMask;
        var roundKeys = _roundKeys;
        for (int round = 0; round < roundKeys.Length; round++)
        {
            ulong next = left ^ (Mix(right ^ roundKeys[round]) & _halfMask);
            left = right;
            right = next;
        }

        return (left << _halfBits) | right;
    }

    // MurmurHash3's fmix64 finalizer: every input bit flips about half the output bits.
    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCD;
        x ^= x >> 33;
        x *= 0xC4CEB9FE1A85EC53;
        x ^= x >> 33;
        return x;
    }
}
