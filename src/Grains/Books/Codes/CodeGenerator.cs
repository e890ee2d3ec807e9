using System.Security.Cryptography;

namespace CouponBooks.Books.Codes;

/// <summary>
/// Makes the codes of one pattern. When the pattern's space is at most <see cref="CodePermutation.MaxDomain"/>
/// the code for counter <c>c</c> is <c>Format(Permute(c))</c>: counters 0, 1, 2, ... give distinct codes in
/// a key-dependent order. Larger spaces draw each placeholder uniformly from a cryptographic source
/// (<see cref="WriteRandom"/>), where collisions are negligible but not impossible.
/// Immutable and safe to share between threads.
/// </summary>
public sealed class CodeGenerator
{
    private readonly CodePermutation? _permutation;

    /// <param name="pattern">The pattern whose codes to make.</param>
    /// <param name="key">16 or 32 secret bytes; keep one key per pattern so its counters never repeat a code.</param>
    public CodeGenerator(CodePattern pattern, ReadOnlySpan<byte> key)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        CodePermutation.EnsureKeyLength(key);
        Pattern = pattern;
        if (pattern.Space <= CodePermutation.MaxDomain)
        {
            _permutation = new CodePermutation((ulong)pattern.Space, key);
        }
    }

    public CodePattern Pattern { get; }

    /// <summary>Whether codes come from counters (<see cref="Write"/>); otherwise only <see cref="WriteRandom"/> applies.</summary>
    public bool UsesPermutation => _permutation is not null;

    /// <summary>Writes the code for <paramref name="counter"/> in [0, Space) into the first <see cref="CodePattern.Length"/> characters of <paramref name="destination"/>.</summary>
    public void Write(ulong counter, Span<char> destination)
    {
        var permutation = _permutation ?? throw new InvalidOperationException(
            $"the pattern {Pattern.Text} has more than {CodePermutation.MaxDomain} codes; draw them with {nameof(WriteRandom)}");
        if (counter >= permutation.Domain)
        {
            throw new ArgumentOutOfRangeException(nameof(counter), counter, $"the pattern {Pattern.Text} has only {permutation.Domain} codes");
        }

        Pattern.Format(permutation.Permute(counter), destination);
    }

    /// <summary>The code for <paramref name="counter"/> as a string.</summary>
    public string Generate(ulong counter) =>
        string.Create(Pattern.Length, (Generator: this, Counter: counter), static (code, state) => state.Generator.Write(state.Counter, code));

    /// <summary>Writes a code of the pattern with every placeholder drawn uniformly at random.</summary>
    public void WriteRandom(Span<char> destination)
    {
        Span<char> code = Pattern.CopyTemplate(destination);
        var source = RandomSymbolSource.ForThisThread;
        foreach (var placeholder in Pattern.PlaceholderSlots)
        {
            code[placeholder.Position] = CodePattern.Symbol(placeholder.Radix, source.Next(placeholder.Radix));
        }
    }

    /// <summary>A random code of the pattern as a string.</summary>
    public string GenerateRandom() =>
        string.Create(Pattern.Length, this, static (code, generator) => generator.WriteRandom(code));

    /// <summary>Cryptographically random bytes fetched in bulk, turned into unbiased symbol values by rejection.</summary>
    private sealed class RandomSymbolSource
    {
        [ThreadStatic]
        private static RandomSymbolSource? _current;

        private readonly byte[] _buffer = new byte[4096];
        private int _position = 4096;

        public static RandomSymbolSource ForThisThread => _current ??= new RandomSymbolSource();

        /// <summary>A uniform value in [0, radix) for radix 10, 26 or 36.</summary>
        public int Next(int radix)
        {
            // The largest multiple of radix below 256; bytes at or above it would bias the low values.
            int limit = 256 - 256 % radix;
            while (true)
            {
                if (_position == _buffer.Length)
                {
                    RandomNumberGenerator.Fill(_buffer);
                    _position = 0;
                }

                int b = _buffer[_position++];
                if (b < limit)
                {
                    return b % radix;
                }
            }
        }
    }
}
