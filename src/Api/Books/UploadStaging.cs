using CouponBooks.Api.Books.Upload;
using Npgsql;
using NpgsqlTypes;

namespace CouponBooks.Api.Books;

/// <summary>
/// Streams an uploaded code list into upload_lines as it is read (binary COPY, constant memory), where the
/// book's import validates and moves it set-based. A failed read leaves nothing staged: the COPY is not completed.
/// </summary>
public sealed class UploadStaging(NpgsqlDataSource dataSource)
{
    /// <summary>Stages every non-blank line; answers how many there were.</summary>
    public async Task<int> StageAsync(Guid uploadId, Stream body, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        int lines = 0;
        await using (var importer = await connection.BeginBinaryImportAsync(
            "copy upload_lines (upload_id, line, value, code, reason) from stdin (format binary)", cancellationToken))
        {
            await foreach (var line in CsvCodeReader.ReadAsync(body, cancellationToken))
            {
                await importer.StartRowAsync(cancellationToken);
                await importer.WriteAsync(uploadId, NpgsqlDbType.Uuid, cancellationToken);
                await importer.WriteAsync(line.Line, NpgsqlDbType.Integer, cancellationToken);
                await importer.WriteAsync(Printable(line.Value), NpgsqlDbType.Text, cancellationToken);
                await WriteNullableAsync(importer, line.Code, cancellationToken);
                await WriteNullableAsync(importer, line.Reason, cancellationToken);
                lines++;
            }

            await importer.CompleteAsync(cancellationToken);
        }

        return lines;
    }

    /// <summary>The value as echoed back in reports; PostgreSQL text cannot hold NUL, so control characters become U+FFFD.</summary>
    private static string Printable(string value) =>
        value.AsSpan().ContainsAnyInRange('\0', '\u001f') ? string.Create(value.Length, value, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '\uFFFD' : source[i];
            }
        }) : value;

    private static Task WriteNullableAsync(NpgsqlBinaryImporter importer, string? value, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, NpgsqlDbType.Text, cancellationToken);
}
