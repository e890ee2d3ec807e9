using System.Text;

namespace CouponBooks.Tests.Upload;

/// <summary>Hands out its bytes one per read, so every line, CRLF and multi-byte character is split across reads.</summary>
internal sealed class TrickleStream(byte[] bytes) : Stream
{
    private int _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position == bytes.Length || buffer.IsEmpty)
        {
            return 0;
        }

        buffer[0] = bytes[_position++];
        return 1;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return Read(buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A header line then <c>CODE-000000000000</c>.. made on the fly, so the file itself never sits in memory.</summary>
internal sealed class GeneratedCodesStream(int count) : Stream
{
    private readonly byte[] _line = new byte[32];
    private int _next = -1;
    private int _lineLength;
    private int _lineOffset;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int written = 0;
        while (written < buffer.Length)
        {
            if (_lineOffset == _lineLength && !NextLine())
            {
                break;
            }

            int n = Math.Min(buffer.Length - written, _lineLength - _lineOffset);
            _line.AsSpan(_lineOffset, n).CopyTo(buffer[written..]);
            _lineOffset += n;
            written += n;
        }

        return written;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    private bool NextLine()
    {
        if (_next == count)
        {
            return false;
        }

        _lineLength = _next < 0
            ? Encoding.ASCII.GetBytes("code\r\n", _line)
            : Encoding.ASCII.GetBytes($"CODE-{_next:D12}\r\n", _line);
        _lineOffset = 0;
        _next++;
        return true;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
