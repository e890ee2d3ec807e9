using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using CouponBooks.Books;

namespace CouponBooks.Api.Books.Upload;

/// <summary>
/// Reads an uploaded code list (API.md, "CSV upload") one line at a time, in constant memory: only the strings of the
/// lines it yields are allocated, so a 64 MiB body never sits in memory as text.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>UTF-8, with or without a BOM; the BOM is stripped only at the very start of the file.</item>
/// <item>Lines end in <c>\n</c> or <c>\r\n</c>; a last line without a newline counts. Spaces, tabs and carriage returns
/// around a line are trimmed; lines left empty are skipped but still count for line numbers.</item>
/// <item>Physical line 1 reading <c>code</c> in any letter case is a header and is skipped; on any later line it is
/// just the code <c>CODE</c>.</item>
/// <item>A value wrapped in one pair of double quotes (<c>"ABC"</c>, as spreadsheets export) is unwrapped; what is
/// inside is taken literally, so <c>"A,B"</c> is one (invalid) code.</item>
/// <item>An unquoted line holding ',', ';' or a tab is refused as "more than one column": a code list has one column.</item>
/// <item>A line with bytes that are not valid UTF-8 is refused on its own; the rest of the upload still reads.</item>
/// <item>A line over <see cref="MaxLineBytes"/> bytes (counted before trimming, without its line ending) is refused
/// without being buffered whole.</item>
/// <item>Codes are normalized and judged by <see cref="CouponCode"/>. Duplicates and the body size limit are not this
/// reader's business (the database and Kestrel see to them).</item>
/// </list>
/// </remarks>
public static class CsvCodeReader
{
    /// <summary>The longest line read as a code; longer lines are refused and skipped over without being held.</summary>
    public const int MaxLineBytes = 4096;

    /// <summary>Longest <see cref="CsvCodeLine.Value"/> echoed back in full; longer values are cut and end in '…'.</summary>
    public const int MaxReportedValueLength = 100;

    private const int ReadBufferBytes = 64 * 1024;

    public static async IAsyncEnumerable<CsvCodeLine> ReadAsync(Stream body, [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var lines = new LineSplitter();
        while (true)
        {
            while (lines.TryTakeLine(out var line))
            {
                yield return line;
            }

            ct.ThrowIfCancellationRequested();
            int read = await body.ReadAsync(lines.FreeSpace(), ct).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            lines.Commit(read);
        }

        if (lines.TryTakeLastLine(out var last))
        {
            yield return last;
        }
    }

    /// <summary>Cuts buffered bytes into lines and judges each; holds at most one line (or a prefix of an overlong one).</summary>
    private sealed class LineSplitter : IDisposable
    {
        // Enough bytes to decode more than MaxReportedValueLength characters, whatever the encoding of each.
        private const int OverlongPrefixBytes = 4 * MaxReportedValueLength;

        private static ReadOnlySpan<byte> Bom => [0xEF, 0xBB, 0xBF];
        private static ReadOnlySpan<byte> Blank => " \t\r"u8;

        private readonly byte[] _buffer = ArrayPool<byte>.Shared.Rent(ReadBufferBytes);
        private readonly char[] _chars = ArrayPool<char>.Shared.Rent(MaxLineBytes);
        private readonly byte[] _overlongPrefix = ArrayPool<byte>.Shared.Rent(OverlongPrefixBytes);
        private int _start;
        private int _end;
        private int _lineNumber = 1;
        private bool _overlong;
        private int _overlongPrefixLength;
        private int _overlongContentLength;
        private bool _overlongCut;

        public Memory<byte> FreeSpace()
        {
            if (_start == _end)
            {
                _start = _end = 0;
            }
            else if (_buffer.Length - _end < ReadBufferBytes / 2)
            {
                // What is pending is one partial line of at most MaxLineBytes, so this copy is small.
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }

            return _buffer.AsMemory(_end);
        }

        public void Commit(int read) => _end += read;

        public bool TryTakeLine(out CsvCodeLine line)
        {
            while (true)
            {
                var pending = _buffer.AsSpan(_start, _end - _start);
                int newline = pending.IndexOf((byte)'\n');
                if (newline < 0)
                {
                    if (_overlong)
                    {
                        AppendOverlong(pending);
                        _start = _end;
                    }
                    else if (LengthForLimit(pending) > MaxLineBytes)
                    {
                        StartOverlong(pending);
                        _start = _end;
                    }

                    line = default;
                    return false;
                }

                _start += newline + 1;
                if (EndLine(pending[..newline], out line))
                {
                    return true;
                }
            }
        }

        public bool TryTakeLastLine(out CsvCodeLine line)
        {
            if (_start == _end && !_overlong)
            {
                line = default;
                return false;
            }

            var rest = _buffer.AsSpan(_start, _end - _start);
            _start = _end;
            return EndLine(rest, out line);
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            ArrayPool<char>.Shared.Return(_chars);
            ArrayPool<byte>.Shared.Return(_overlongPrefix);
        }

        /// <summary>Judges the line that <paramref name="tail"/> ends (all of it unless an overlong line is being skipped).</summary>
        private bool EndLine(ReadOnlySpan<byte> tail, out CsvCodeLine line)
        {
            bool taken = JudgeLine(_lineNumber, tail, out line);
            _lineNumber++;
            return taken;
        }

        private bool JudgeLine(int number, ReadOnlySpan<byte> tail, out CsvCodeLine line)
        {
            if (!_overlong && LengthForLimit(tail) > MaxLineBytes)
            {
                StartOverlong(tail);
            }
            else if (_overlong)
            {
                AppendOverlong(tail);
            }
            else
            {
                return JudgeText(number, tail, out line);
            }

            _overlong = false;
            if (_overlongContentLength == 0)
            {
                line = default;
                return false;
            }

            var prefix = Decode(_overlongPrefix.AsSpan(0, _overlongContentLength));
            line = new CsvCodeLine(number, Report(prefix, _overlongCut), null, $"longer than {MaxLineBytes} bytes");
            return true;
        }

        private bool JudgeText(int number, ReadOnlySpan<byte> raw, out CsvCodeLine line)
        {
            line = default;
            var trimmed = raw[BomLength(raw)..].Trim(Blank);
            if (trimmed.IsEmpty)
            {
                return false;
            }

            bool utf8 = Utf8.IsValid(trimmed);
            var chars = Decode(trimmed);
            bool quoted = chars is ['"', .. var inner, '"'] && !inner.Contains('"');
            var candidate = quoted ? chars[1..^1] : chars;
            if (number == 1 && candidate.Equals("code", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            string value = Report(chars, cut: false);
            if (!utf8)
            {
                line = new CsvCodeLine(number, value, null, "not valid UTF-8");
            }
            else if (!quoted && chars.ContainsAny(",;\t"))
            {
                line = new CsvCodeLine(number, value, null, "more than one column");
            }
            else if (candidate.Length is < CouponCode.MinLength or > CouponCode.MaxLength)
            {
                // Normalizing keeps the length, so the reason is known without building the code.
                line = new CsvCodeLine(number, value, null, CouponCode.Validate(candidate));
            }
            else
            {
                // An unquoted code is short enough to be reported whole, so the value string serves as the code too.
                string code = quoted ? new string(candidate) : value;
                if (code.AsSpan().ContainsAnyInRange('a', 'z'))
                {
                    code = CouponCode.Normalize(code);
                }

                string? reason = CouponCode.Validate(code);
                line = new CsvCodeLine(number, value, reason is null ? code : null, reason);
            }

            return true;
        }

        private void StartOverlong(ReadOnlySpan<byte> lineStart)
        {
            _overlong = true;
            _overlongPrefixLength = 0;
            _overlongContentLength = 0;
            _overlongCut = false;
            AppendOverlong(lineStart[BomLength(lineStart)..]);
        }

        /// <summary>
        /// Keeps the first bytes of an overlong line from its first non-blank byte on, for the report, and notes where
        /// its non-blank text ends (the trim) and whether any was dropped (the cut); the rest is not held.
        /// </summary>
        private void AppendOverlong(ReadOnlySpan<byte> segment)
        {
            if (_overlongPrefixLength == 0)
            {
                segment = segment.TrimStart(Blank);
            }

            int room = OverlongPrefixBytes - _overlongPrefixLength;
            var kept = segment.Length > room ? segment[..room] : segment;
            _overlongCut |= segment[kept.Length..].IndexOfAnyExcept(Blank) >= 0;
            int lastText = kept.LastIndexOfAnyExcept(Blank);
            if (lastText >= 0)
            {
                _overlongContentLength = _overlongPrefixLength + lastText + 1;
            }

            kept.CopyTo(_overlongPrefix.AsSpan(_overlongPrefixLength));
            _overlongPrefixLength += kept.Length;
        }

        /// <summary>Decodes into the shared char buffer; invalid bytes become U+FFFD (callers check validity themselves).</summary>
        private ReadOnlySpan<char> Decode(ReadOnlySpan<byte> bytes) => _chars.AsSpan(0, Encoding.UTF8.GetChars(bytes, _chars));

        /// <summary>
        /// A line's length as the limit sees it, without the BOM and a last '\r' (so CRLF and LF files agree), the same
        /// whether or not its '\n' has arrived yet, so the way a body is split into reads cannot change the verdict.
        /// </summary>
        private int LengthForLimit(ReadOnlySpan<byte> lineStart) =>
            lineStart.Length - BomLength(lineStart) - (lineStart is [.., (byte)'\r'] ? 1 : 0);

        private int BomLength(ReadOnlySpan<byte> lineStart) => _lineNumber == 1 && lineStart.StartsWith(Bom) ? Bom.Length : 0;

        private static string Report(ReadOnlySpan<char> text, bool cut)
        {
            if (text.Length <= MaxReportedValueLength && !cut)
            {
                return new string(text);
            }

            int length = Math.Min(text.Length, MaxReportedValueLength);
            if (char.IsHighSurrogate(text[length - 1]))
            {
                length--;
            }

            return string.Concat(text[..length], "…");
        }
    }
}
