using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Books;

[Collection(ApiCollection.Name)]
public sealed class UploadTests(ApiFixture api)
{
    [Fact]
    public async Task An_upload_with_bom_header_crlf_spaces_and_blank_lines_stores_the_codes_upper_cased()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        string a = Code(), b = Code(), c = Code();
        string csv = $"\uFEFFCode\r\n  {a.ToLowerInvariant()}  \r\n\r\n   \r\n{b}\n{c}";

        var response = await BookCalls.UploadCsvAsync(admin, bookId, csv);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(3, body.GetProperty("accepted").GetInt64());
        Assert.Empty(body.GetProperty("skipped").EnumerateArray());
        var stored = await TestDb.StringsAsync(api.ConnectionString, "select code from coupons where book_id = $1 order by code", bookId);
        Assert.Equal(new[] { a, b, c }.Order(StringComparer.Ordinal), stored);
        Assert.Equal(3, (await BookCalls.GetBookAsync(admin, bookId)).GetProperty("stats").GetProperty("unassigned").GetInt64());
    }

    [Fact]
    public async Task An_invalid_line_or_a_repeat_fails_the_whole_upload_with_line_numbers()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        string good = Code(), repeated = Code();
        string csv = $"code\n{good}\nab\n{repeated}\n{repeated.ToLowerInvariant()}\nBAD!CODE\n";

        var response = await BookCalls.UploadCsvAsync(admin, bookId, csv);

        var problem = await ApiCalls.AssertProblemAsync(response, HttpStatusCode.BadRequest, "invalid-codes");
        var offenders = problem.GetProperty("offenders").EnumerateArray().Select(o => (o.GetProperty("line").GetInt32(), o.GetProperty("value").GetString()!)).ToList();
        Assert.Equal(new[] { (3, "ab"), (5, repeated.ToLowerInvariant()), (6, "BAD!CODE") }, offenders);
        Assert.Contains("line 4", problem.GetProperty("offenders")[1].GetProperty("reason").GetString());
        Assert.Equal(0, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));
        Assert.Equal(0, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from upload_lines"));
    }

    [Fact]
    public async Task Codes_that_exist_in_any_book_fail_the_upload_with_codes_exist()
    {
        using var admin = await api.AdminClientAsync();
        var other = await BookCalls.CreateBookAsync(admin);
        var bookId = await BookCalls.CreateBookAsync(admin);
        string taken = Code(), fresh = Code();
        Assert.Equal(HttpStatusCode.OK, (await BookCalls.UploadCsvAsync(admin, other, taken)).StatusCode);

        var response = await BookCalls.UploadCsvAsync(admin, bookId, $"{fresh}\n{taken.ToLowerInvariant()}\n");

        var problem = await ApiCalls.AssertProblemAsync(response, HttpStatusCode.Conflict, "codes-exist");
        var offender = Assert.Single(problem.GetProperty("offenders").EnumerateArray());
        Assert.Equal(2, offender.GetProperty("line").GetInt32());
        Assert.Equal(0, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));
    }

    [Fact]
    public async Task Skip_invalid_stores_the_good_codes_and_lists_the_rest()
    {
        using var admin = await api.AdminClientAsync();
        var other = await BookCalls.CreateBookAsync(admin);
        var bookId = await BookCalls.CreateBookAsync(admin);
        string taken = Code(), a = Code(), b = Code();
        await BookCalls.UploadCsvAsync(admin, other, taken);

        var response = await BookCalls.UploadCsvAsync(admin, bookId, $"{a}\nx\n{taken}\n{b}\n{a}\n", skipInvalid: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(2, body.GetProperty("accepted").GetInt64());
        Assert.Equal(3, body.GetProperty("skippedCount").GetInt64());
        Assert.Equal(new[] { 2, 3, 5 }, body.GetProperty("skipped").EnumerateArray().Select(s => s.GetProperty("line").GetInt32()));
        Assert.Equal(2, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));
    }

    [Fact]
    public async Task Skip_invalid_lists_every_skipped_line_of_an_upload_answered_at_once()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        string a = Code(), b = Code();
        // 150 bad lines (more than the 100 offenders a refused upload lists) between two good codes.
        var lines = new List<string> { a };
        lines.AddRange(Enumerable.Range(0, 150).Select(i => $"bad code {i}"));
        lines.Add(b);

        var response = await BookCalls.UploadCsvAsync(admin, bookId, string.Join("\n", lines), skipInvalid: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((2L, 150L), (body.GetProperty("accepted").GetInt64(), body.GetProperty("skippedCount").GetInt64()));
        var skipped = body.GetProperty("skipped").EnumerateArray().ToList();
        Assert.Equal(Enumerable.Range(2, 150), skipped.Select(s => s.GetProperty("line").GetInt32()));
        Assert.Equal(Enumerable.Range(0, 150).Select(i => $"bad code {i}"), skipped.Select(s => s.GetProperty("value").GetString()));
        Assert.Equal(2, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));
    }

    [Fact]
    public async Task A_multipart_file_field_is_accepted()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes($"{Code()}\n{Code()}\n"));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(file, "file", "codes.csv");

        var response = await admin.PostAsync($"/api/v1/books/{bookId}/codes/upload", form);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("accepted").GetInt64());
    }

    [Fact]
    public async Task A_multipart_body_without_a_file_field_is_validation_failed()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        using var form = new MultipartFormDataContent { { new StringContent("ABC123"), "codes" } };
        await ApiCalls.AssertProblemAsync(await admin.PostAsync($"/api/v1/books/{bookId}/codes/upload", form), HttpStatusCode.BadRequest, "validation-failed");
    }

    [Theory]
    [InlineData("application/json", "[\"ABC\"]")]
    [InlineData("text/plain", "ABC123")]
    [InlineData("application/csv", "ABC123")]
    public async Task A_body_of_another_media_type_is_unsupported_media_type_and_stores_nothing(string mediaType, string body)
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        var response = await admin.PostAsync($"/api/v1/books/{bookId}/codes/upload", new StringContent(body, Encoding.UTF8, mediaType));
        await ApiCalls.AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        Assert.Equal(0L, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));
    }

    [Fact]
    public async Task A_url_encoded_form_is_unsupported_media_type_and_stores_nothing()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        string code = Code();
        using var form = new FormUrlEncodedContent([KeyValuePair.Create("file", code)]);

        var response = await admin.PostAsync($"/api/v1/books/{bookId}/codes/upload", form);

        await ApiCalls.AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "unsupported-media-type");
        Assert.Equal(0L, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));
    }

    [Fact]
    public async Task A_body_over_64_mib_is_payload_too_large_and_stores_nothing()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        var line = Encoding.UTF8.GetBytes("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345\n");
        var body = new byte[(64 * 1024 * 1024 / line.Length + 1) * line.Length];
        for (int i = 0; i < body.Length; i += line.Length)
        {
            line.CopyTo(body, i);
        }

        var withLength = new ByteArrayContent(body);
        withLength.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        await ApiCalls.AssertProblemAsync(
            await admin.PostAsync($"/api/v1/books/{bookId}/codes/upload", withLength), HttpStatusCode.RequestEntityTooLarge, "payload-too-large");

        // Chunked, so the size shows only while reading.
        var chunked = new StreamContent(new MemoryStream(body));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/books/{bookId}/codes/upload") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        await ApiCalls.AssertProblemAsync(await admin.SendAsync(request), HttpStatusCode.RequestEntityTooLarge, "payload-too-large");

        Assert.Equal(0, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));
        Assert.Equal(0, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from upload_lines"));
    }

    [Fact]
    public async Task An_upload_over_10000_codes_runs_as_a_job_with_the_same_result()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        string prefix = $"J{Guid.NewGuid():N}"[..12].ToUpperInvariant();
        string csv = "code\n" + string.Join("\n", Enumerable.Range(0, 12_000).Select(i => $"{prefix}-{i:00000}")) + "\nnot valid!\n";

        var accepted = await BookCalls.UploadCsvAsync(admin, bookId, csv, skipInvalid: true);

        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var job = await BookCalls.WaitForJobAsync(admin, accepted);
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        Assert.Equal("import-codes", job.GetProperty("kind").GetString());
        Assert.Equal(12_000, job.GetProperty("result").GetProperty("accepted").GetInt64());
        Assert.Equal(12_002, job.GetProperty("result").GetProperty("skipped")[0].GetProperty("line").GetInt32());
        Assert.Equal(12_000, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));
    }

    [Fact]
    public async Task A_large_upload_with_an_invalid_line_fails_its_job_and_stores_nothing()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        string prefix = $"K{Guid.NewGuid():N}"[..12].ToUpperInvariant();
        string csv = string.Join("\n", Enumerable.Range(0, 10_500).Select(i => i == 7_000 ? "??" : $"{prefix}-{i:00000}"));

        var job = await BookCalls.WaitForJobAsync(admin, await BookCalls.UploadCsvAsync(admin, bookId, csv));

        Assert.Equal("failed", job.GetProperty("state").GetString());
        var error = job.GetProperty("error");
        Assert.Equal("invalid-codes", error.GetProperty("code").GetString());
        Assert.Equal(7_001, error.GetProperty("offenders")[0].GetProperty("line").GetInt32());
        Assert.Equal(0, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));
    }

    private static string Code() => $"U{Guid.NewGuid():N}".ToUpperInvariant()[..20];
}
