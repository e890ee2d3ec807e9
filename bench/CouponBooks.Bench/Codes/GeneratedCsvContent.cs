using System.Net;
using System.Net.Http.Headers;

namespace CouponBooks.Bench.Codes;

/// <summary>
/// A <c>text/csv</c> body of a header line <c>code</c> and <paramref name="count"/> codes, written to the
/// connection as it is sent (64 KiB at a time, never held whole), with an exact Content-Length.
/// </summary>
public sealed class GeneratedCsvContent : HttpContent
{
    private const string Header = "code\n";
    private const int ChunkBytes = 64 * 1024;

    private readonly CodeSeries _codes;
    private readonly long _count;

    public GeneratedCsvContent(CodeSeries codes, long count)
    {
        _codes = codes;
        _count = count;
        Headers.ContentType = new MediaTypeHeaderValue("text/csv") { CharSet = "utf-8" };
    }

    public long Bytes => Header.Length + _count * (_codes.Length + 1);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        int lineBytes = _codes.Length + 1;
        int linesPerChunk = ChunkBytes / lineBytes;
        var chunk = new byte[linesPerChunk * lineBytes];
        await stream.WriteAsync("code\n"u8.ToArray());
        for (long next = 0; next < _count;)
        {
            int lines = (int)Math.Min(linesPerChunk, _count - next);
            Fill(chunk, next, lines, lineBytes);
            await stream.WriteAsync(chunk.AsMemory(0, lines * lineBytes));
            next += lines;
        }
    }

    private void Fill(byte[] chunk, long first, int lines, int lineBytes)
    {
        var span = chunk.AsSpan();
        for (int i = 0; i < lines; i++)
        {
            var line = span.Slice(i * lineBytes, lineBytes);
            _codes.Write(first + i, line);
            line[^1] = (byte)'\n';
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = Bytes;
        return true;
    }
}
