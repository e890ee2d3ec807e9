using System.Diagnostics;
using System.Text;
using CouponBooks.Api.Books.Upload;
using Xunit.Abstractions;

namespace CouponBooks.Tests.Upload;

public sealed class CsvCodeReaderTests(ITestOutputHelper output)
{
    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    [Fact]
    public async Task Lf_lines_give_one_valid_code_each()
    {
        var lines = await ReadAsync("ABC\nDEF-1\nG_H_2\n");

        Assert.Equal([Valid(1, "ABC"), Valid(2, "DEF-1"), Valid(3, "G_H_2")], lines);
    }

    [Fact]
    public async Task Crlf_and_mixed_line_endings_read_alike()
    {
        var crlf = await ReadAsync("ABC\r\nDEF\r\nGHI\r\n");
        var mixed = await ReadAsync("ABC\r\nDEF\nGHI\r\n");

        Assert.Equal([Valid(1, "ABC"), Valid(2, "DEF"), Valid(3, "GHI")], crlf);
        Assert.Equal(crlf, mixed);
    }

    [Fact]
    public async Task A_bom_at_the_start_is_stripped()
    {
        var lines = await ReadAsync([.. Bom, .. "ABC\r\nDEF\r\n"u8]);

        Assert.Equal([Valid(1, "ABC"), Valid(2, "DEF")], lines);
    }

    [Fact]
    public async Task A_bom_anywhere_else_makes_the_line_invalid()
    {
        var lines = await ReadAsync([.. "ABC\n"u8, .. Bom, .. "DEF\n"u8]);

        Assert.Equal(Valid(1, "ABC"), lines[0]);
        Assert.Equal(new CsvCodeLine(2, "\uFEFFDEF", null, "characters other than A-Z, 0-9, '-' and '_'"), lines[1]);
    }

    [Theory]
    [InlineData("code")]
    [InlineData("CODE")]
    [InlineData("Code")]
    [InlineData("  cOdE \t")]
    [InlineData("\"code\"")]
    public async Task A_header_on_line_one_is_skipped_in_any_letter_case(string header)
    {
        var lines = await ReadAsync($"{header}\r\nABC\r\n");

        Assert.Equal([Valid(2, "ABC")], lines);
    }

    [Fact]
    public async Task A_header_after_a_bom_is_skipped()
    {
        var lines = await ReadAsync([.. Bom, .. "Code\nABC\n"u8]);

        Assert.Equal([Valid(2, "ABC")], lines);
    }

    [Fact]
    public async Task Code_on_a_later_line_is_just_the_code_CODE()
    {
        var afterBlank = await ReadAsync("\ncode\nABC\n");
        var afterHeader = await ReadAsync("code\ncode\n");

        Assert.Equal([new CsvCodeLine(2, "code", "CODE", null), Valid(3, "ABC")], afterBlank);
        Assert.Equal([new CsvCodeLine(2, "code", "CODE", null)], afterHeader);
    }

    [Fact]
    public async Task Spaces_tabs_and_stray_carriage_returns_around_a_code_are_trimmed()
    {
        var lines = await ReadAsync("  ABC  \n\tDEF\t\r\nGHI\r\r\n \t JKL \t \r");

        Assert.Equal([Valid(1, "ABC"), Valid(2, "DEF"), Valid(3, "GHI"), Valid(4, "JKL")], lines);
    }

    [Fact]
    public async Task Blank_lines_are_skipped_but_counted()
    {
        var lines = await ReadAsync("\nABC\n   \n\t \r\n\r\nDEF\n\n");

        Assert.Equal([Valid(2, "ABC"), Valid(6, "DEF")], lines);
    }

    [Fact]
    public async Task Lower_case_letters_are_upper_cased_and_the_value_keeps_the_original()
    {
        var lines = await ReadAsync("summer-2024_a\nMiXeD\n");

        Assert.Equal([new CsvCodeLine(1, "summer-2024_a", "SUMMER-2024_A", null), new CsvCodeLine(2, "MiXeD", "MIXED", null)], lines);
    }

    [Fact]
    public async Task Codes_breaking_the_rules_are_refused_with_the_reason()
    {
        string longest = new('A', 64);
        string tooLong = new('B', 65);
        var lines = await ReadAsync($"AB\n{longest}\n{tooLong}\nAB CD\nÄBC\nAB.C\n");

        Assert.Equal(
            [
                new CsvCodeLine(1, "AB", null, "shorter than 3 characters"),
                Valid(2, longest),
                new CsvCodeLine(3, tooLong, null, "longer than 64 characters"),
                new CsvCodeLine(4, "AB CD", null, "characters other than A-Z, 0-9, '-' and '_'"),
                new CsvCodeLine(5, "ÄBC", null, "characters other than A-Z, 0-9, '-' and '_'"),
                new CsvCodeLine(6, "AB.C", null, "characters other than A-Z, 0-9, '-' and '_'"),
            ],
            lines);
    }

    [Theory]
    [InlineData("ABC,DEF")]
    [InlineData("ABC;1")]
    [InlineData("ABC\tDEF")]
    [InlineData("ABC,")]
    [InlineData("\"ABC\",\"DEF\"")]
    public async Task A_line_with_a_separator_is_more_than_one_column(string text)
    {
        var lines = await ReadAsync($"{text}\nXYZ\n");

        Assert.Equal([new CsvCodeLine(1, text, null, "more than one column"), Valid(2, "XYZ")], lines);
    }

    [Fact]
    public async Task One_pair_of_surrounding_quotes_is_stripped_and_the_value_keeps_them()
    {
        var lines = await ReadAsync("\"ABC\"\n \"def\" \n\"\"\n\"A,B\"\n\"AB\"C\"\n\"ABC\n");

        Assert.Equal(
            [
                new CsvCodeLine(1, "\"ABC\"", "ABC", null),
                new CsvCodeLine(2, "\"def\"", "DEF", null),
                new CsvCodeLine(3, "\"\"", null, "shorter than 3 characters"),
                new CsvCodeLine(4, "\"A,B\"", null, "characters other than A-Z, 0-9, '-' and '_'"),
                new CsvCodeLine(5, "\"AB\"C\"", null, "characters other than A-Z, 0-9, '-' and '_'"),
                new CsvCodeLine(6, "\"ABC", null, "characters other than A-Z, 0-9, '-' and '_'"),
            ],
            lines);
    }

    [Fact]
    public async Task Invalid_utf8_makes_only_its_line_invalid()
    {
        var lines = await ReadAsync([.. "ABC\n"u8, 0x41, 0xFF, 0x42, 0x43, .. "\nAB"u8, 0xC3, .. "\n"u8, 0xE2, 0x82, .. "\nDEF\n"u8]);

        Assert.Equal(
            [
                Valid(1, "ABC"),
                new CsvCodeLine(2, "A\uFFFDBC", null, "not valid UTF-8"),
                new CsvCodeLine(3, "AB\uFFFD", null, "not valid UTF-8"),
                new CsvCodeLine(4, "\uFFFD", null, "not valid UTF-8"),
                Valid(5, "DEF"),
            ],
            lines);
    }

    [Fact]
    public async Task A_last_line_without_a_newline_counts()
    {
        Assert.Equal([Valid(1, "ABC"), Valid(2, "DEF")], await ReadAsync("ABC\nDEF"));
        Assert.Equal([Valid(1, "ABC")], await ReadAsync("ABC"));
        Assert.Equal([Valid(1, "ABC")], await ReadAsync("ABC\r"));
    }

    [Fact]
    public async Task An_empty_file_a_bom_alone_or_a_header_alone_give_no_lines()
    {
        Assert.Empty(await ReadAsync(""));
        Assert.Empty(await ReadAsync(Bom));
        Assert.Empty(await ReadAsync("code"));
        Assert.Empty(await ReadAsync("code\r\n"));
        Assert.Empty(await ReadAsync([.. Bom, .. "CODE\n\n  \n"u8]));
    }

    [Fact]
    public async Task A_long_value_is_cut_for_the_report()
    {
        string text = new('x', 300);
        var line = Assert.Single(await ReadAsync($"  {text}  \n"));

        Assert.Equal(new CsvCodeLine(1, new string('x', 100) + "…", null, "longer than 64 characters"), line);
    }

    [Fact]
    public async Task A_cut_does_not_split_a_surrogate_pair()
    {
        string text = new string('x', 99) + "😀" + "tail";
        var line = Assert.Single(await ReadAsync(text));

        Assert.Equal(new string('x', 99) + "…", line.Value);
    }

    [Fact]
    public async Task A_line_over_the_byte_limit_is_refused_and_reading_goes_on()
    {
        string huge = "  " + new string('Q', 1_000_000);
        var lines = await ReadAsync($"ABC\n{huge}\nDEF\n{huge}");

        Assert.Equal(4, lines.Count);
        Assert.Equal(Valid(1, "ABC"), lines[0]);
        Assert.Equal(new CsvCodeLine(2, new string('Q', 100) + "…", null, $"longer than {CsvCodeReader.MaxLineBytes} bytes"), lines[1]);
        Assert.Equal(Valid(3, "DEF"), lines[2]);
        Assert.Equal(lines[1] with { Line = 4 }, lines[3]);
    }

    [Fact]
    public async Task Lines_just_under_and_over_the_byte_limit()
    {
        string atLimit = new('A', CsvCodeReader.MaxLineBytes);
        string overLimit = new('A', CsvCodeReader.MaxLineBytes + 1);
        byte[] file = [.. Bom, .. Encoding.UTF8.GetBytes($"{atLimit}\r\n{overLimit}\n{atLimit}\r\n{overLimit}\r\n{atLimit}\r")];
        var lines = await ReadAsync(file);

        string tooLong = $"longer than {CsvCodeReader.MaxLineBytes} bytes";
        Assert.Equal(["longer than 64 characters", tooLong, "longer than 64 characters", tooLong, "longer than 64 characters"], lines.Select(l => l.Reason));
        Assert.Equal(lines, await ReadAsync(new TrickleStream(file)));
    }

    [Fact]
    public async Task An_overlong_line_of_blanks_is_skipped_and_one_with_a_short_code_at_its_end_is_reported_whole()
    {
        string blanks = new(' ', 10_000);
        var lines = await ReadAsync($"{blanks}\n{blanks}ABC{blanks}\nDEF\n");

        Assert.Equal([new CsvCodeLine(2, "ABC", null, $"longer than {CsvCodeReader.MaxLineBytes} bytes"), Valid(3, "DEF")], lines);
    }

    [Fact]
    public async Task One_byte_per_read_gives_the_same_lines_as_one_read()
    {
        byte[] file =
        [
            .. Bom, .. "code\r\n"u8,
            .. "abc\r\n"u8,
            .. "\r\n"u8,
            .. Encoding.UTF8.GetBytes("ÄBC\r\n"),
            .. Encoding.UTF8.GetBytes("😀XY\n"),
            0x41, 0xF0, 0x9F, 0x42, .. "\n"u8,
            .. "\"quoted\"\r\n"u8,
            .. Encoding.UTF8.GetBytes(new string('Z', 5000) + "\r\n"),
            .. "LAST\r"u8,
        ];

        var whole = await ReadAsync(file);
        var trickled = await ReadAsync(new TrickleStream(file));

        Assert.Equal(
            [
                new CsvCodeLine(2, "abc", "ABC", null),
                new CsvCodeLine(4, "ÄBC", null, "characters other than A-Z, 0-9, '-' and '_'"),
                new CsvCodeLine(5, "😀XY", null, "characters other than A-Z, 0-9, '-' and '_'"),
                new CsvCodeLine(6, "A\uFFFDB", null, "not valid UTF-8"),
                new CsvCodeLine(7, "\"quoted\"", "QUOTED", null),
                new CsvCodeLine(8, new string('Z', 100) + "…", null, $"longer than {CsvCodeReader.MaxLineBytes} bytes"),
                Valid(9, "LAST"),
            ],
            whole);
        Assert.Equal(whole, trickled);
    }

    [Fact]
    public async Task A_million_line_file_reads_to_the_end()
    {
        const int count = 1_000_000;
        using var body = new GeneratedCodesStream(count);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();

        int read = 0;
        int valid = 0;
        CsvCodeLine last = default;
        await foreach (var line in CsvCodeReader.ReadAsync(body, CancellationToken.None))
        {
            read++;
            valid += line.Reason is null ? 1 : 0;
            last = line;
        }

        output.WriteLine($"{count} lines in {clock.ElapsedMilliseconds} ms, {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds:F0} ms CPU (process-wide)");
        Assert.Equal(count, read);
        Assert.Equal(count, valid);
        Assert.Equal(new CsvCodeLine(count + 1, $"CODE-{count - 1:D12}", $"CODE-{count - 1:D12}", null), last);
    }

    [Fact]
    public async Task Reading_stops_when_cancelled()
    {
        using var body = new GeneratedCodesStream(1_000_000);
        using var cancel = new CancellationTokenSource();
        int read = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in CsvCodeReader.ReadAsync(body, cancel.Token))
            {
                if (++read == 10)
                {
                    await cancel.CancelAsync();
                }
            }
        });
        Assert.True(read < 1_000_000);
    }

    private static CsvCodeLine Valid(int line, string code) => new(line, code, code, null);

    private static Task<List<CsvCodeLine>> ReadAsync(string text) => ReadAsync(Encoding.UTF8.GetBytes(text));

    private static Task<List<CsvCodeLine>> ReadAsync(byte[] bytes) => ReadAsync(new MemoryStream(bytes));

    private static async Task<List<CsvCodeLine>> ReadAsync(Stream body)
    {
        var lines = new List<CsvCodeLine>();
        await foreach (var line in CsvCodeReader.ReadAsync(body, CancellationToken.None))
        {
            lines.Add(line);
        }

        return lines;
    }

}
