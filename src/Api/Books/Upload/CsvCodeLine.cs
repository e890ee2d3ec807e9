namespace CouponBooks.Api.Books.Upload;

/// <summary>One non-blank line of an uploaded code list, as read by <see cref="CsvCodeReader"/>.</summary>
/// <param name="Line">1-based physical line number in the file; a header line, blank lines and the BOM count as lines too.</param>
/// <param name="Value">
/// The line as the client sent it, trimmed of spaces, tabs and carriage returns, kept only to be echoed back in error
/// reports: longer than <see cref="CsvCodeReader.MaxReportedValueLength"/> characters it is cut there and ends in '…',
/// and bytes that are not valid UTF-8 show as U+FFFD.
/// </param>
/// <param name="Code">The normalized (upper-cased) code when the line holds a valid code, else null.</param>
/// <param name="Reason">Null when the line holds a valid code, else a short human reason why it does not.</param>
public readonly record struct CsvCodeLine(int Line, string Value, string? Code, string? Reason)
{
    public bool IsValid => Reason is null;
}
