using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using static CouponBooks.Bench.Report;
using static CouponBooks.Bench.ScenarioRun;

namespace CouponBooks.Bench.Codes;

/// <summary>
/// The "books and codes" benchmark: a plain binary COPY of N codes as the reference, then through the API the
/// generation of N codes, the import of an N-line CSV, the export of N coupons and the book's stats, and the
/// silo's and API's peak memory. Every figure against its target; correctness checked against the database.
/// </summary>
public sealed class CodesScenario(BenchOptions options)
{
    private const string ExportHeader = "code,state,userId,assignedAt,redemptionCount";
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan GenerateTarget = TimeSpan.FromSeconds(10);
    private const double RatioTarget = 3.0;
    private static readonly TimeSpan ImportTarget = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ExportTarget = TimeSpan.FromSeconds(5);
    private const double StatsTargetMs = 50;
    private const int StatsWarmup = 20;
    private const int StatsCalls = 200;

    private readonly long _count = options.Count;
    private readonly ScenarioRun _run = new(options, "CouponBooks benchmark: books and codes");

    public async Task<int> RunAsync()
    {
        string tag = _run.Tag;
        await using var db = new Database(options.Postgres);
        using var api = new ApiSession(options.Api, options.AdminEmail, options.AdminPassword);
        await _run.StartAsync(db);
        await api.EnsureLoggedInAsync();
        Log($"run {tag}: {Count(_count)} codes per step against {options.Api} (silo pid {options.SiloPid}, api pid {options.ApiPid})");

        var referenceTime = await ReferenceCopyAsync(db, tag);
        var generatedBook = await GenerateAsync(api, db, tag, referenceTime);
        var importedBook = await ImportAsync(api, db, tag);
        var fullBook = generatedBook ?? importedBook
            ?? throw new BenchFailure("neither the generation nor the import finished: no book of N codes to export");
        await ExportAsync(api, db, fullBook);
        await BookStatsAsync(api, fullBook);
        _run.PeakMemory("6");

        _run.Report.Note("Each timed step starts after `VACUUM ANALYZE coupons` and `CHECKPOINT` (\"settle\" above), so none pays for autovacuum or dirty-page flushing caused by the step before it.");
        _run.Report.Note("Step 1's rows (and 1b's) are deleted again before the next step, which is then settled: the generation writes into the same table state the reference did, with no reference rows in the indexes and no dead tuples left.");
        _run.Report.Note($"All codes are {CodeSeries.Sequential("BENCH-XXX-").Length} characters: `BENCH-{tag}-########` (step 1 in key order, 1b scattered), `GENER-{tag}-########` (step 2, the API's keyed permutation: scattered), `IMPRT-{tag}-########` (step 3's CSV, scattered).");
        return await _run.FinishAsync([("Codes per step", Count(_count))]);
    }

    /// <summary>
    /// Step 1: the reference COPY of codes numbered in key order (<c>BENCH-TAG-00000000</c>, …01, …), committed and
    /// timed, then deleted again; then, for comparison only, the same COPY with the codes in scattered key order.
    /// </summary>
    private async Task<TimeSpan> ReferenceCopyAsync(Database db, string tag)
    {
        var reference = await TimedCopyAsync(db, CodeSeries.Sequential($"BENCH-{tag}-"), "1");
        _run.Report.Add(new Measurement("1", $"reference: binary `COPY coupons (code, book_id) FROM STDIN` of {Count(_count)} codes `BENCH-{tag}-########` numbered in order, one transaction, committed", Seconds(reference), "reference", null));
        var scattered = await TimedCopyAsync(db, CodeSeries.Scattered($"BENCH-{tag}-", Random.Shared.Next()), "1b");
        _run.Report.Add(new Measurement("1b", "for comparison: the same COPY with the codes in scattered key order (as a keyed permutation or an arbitrary CSV gives them)", Seconds(scattered), "— (reported)", null));
        return reference;
    }

    private async Task<TimeSpan> TimedCopyAsync(Database db, CodeSeries codes, string step)
    {
        await _run.SettleAsync(db, step);
        var referenceBook = Guid.NewGuid();
        Log($"step {step}: binary COPY of {Count(_count)} codes{(codes.IsScattered ? " in scattered order" : " in key order")}...");
        var cpu = _run.Cpu.Start();
        var (rows, elapsed) = await db.CopyReferenceAsync(codes, referenceBook, _count);
        _run.CpuPhase(step, cpu.Stop());
        Log($"step {step}: {Seconds(elapsed)}");
        _run.Report.Add(new Phase(step, "COPY rate", Rate(_count, elapsed)));
        Require(_run.Report.Add(new Check($"step {step}: rows COPY reported", Count(_count), Count((long)rows), (long)rows == _count)), "the reference COPY");

        var (deleted, deleteTime) = await db.DeleteBookCouponsAsync(referenceBook);
        _run.Report.Add(new Phase(step, "delete the COPY's rows again (not timed)", Seconds(deleteTime)));
        _run.Report.Add(new Check($"step {step}: the COPY's rows deleted again", Count(_count), Count(deleted), deleted == _count));
        return elapsed;
    }

    /// <summary>Step 2: POST codes/generate, then poll the job to success. Null when it did not finish in time.</summary>
    private async Task<Guid?> GenerateAsync(ApiSession api, Database db, string tag, TimeSpan reference)
    {
        var book = await api.CreateBookAsync($"bench generate {tag}");
        string pattern = $"GENER-{tag}-########";
        await _run.SettleAsync(db, "2");
        await api.EnsureLoggedInAsync();
        Log($"step 2: generate {Count(_count)} codes of {pattern}...");

        var cpu = _run.Cpu.Start();
        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        using var response = await api.Http.PostAsJsonAsync($"/api/v1/books/{book}/codes/generate", new { pattern, count = _count }, JsonSerializerOptions.Web);
        var accepted = clock.Elapsed;
        string location = await ApiSession.AcceptedJobAsync(response, "generate codes");
        ObservedJob job;
        try
        {
            job = await api.PollUntilSucceededAsync(location, PollInterval, options.JobTimeout);
        }
        catch (JobTimedOut timedOut)
        {
            var waited = clock.Elapsed;
            _run.CpuPhase("2", cpu.Stop());
            _run.Report.Add(new Measurement("2", $"generate {Count(_count)} codes through the API; the job was still running when the bench gave up (--job-timeout)", $"> {Seconds(waited)} (not finished)", $"≤ {GenerateTarget.TotalSeconds:0} s", false));
            _run.Report.Add(new Measurement("2", "ratio step 2 / step 1", $"> {waited / reference:0.0}×", $"≤ {RatioTarget:0}×", false));
            await GiveUpOnJobAsync(api, db, timedOut, "2");
            return null;
        }

        var total = clock.Elapsed;
        _run.CpuPhase("2", cpu.Stop());
        Log($"step 2: {Seconds(total)}");

        double ratio = total / reference;
        _run.Report.Add(new Measurement("2", $"generate {Count(_count)} codes through the API: POST …/codes/generate → 202 → poll job every 50 ms until `succeeded`", Seconds(total), $"≤ {GenerateTarget.TotalSeconds:0} s", total <= GenerateTarget));
        _run.Report.Add(new Measurement("2", "ratio step 2 / step 1 (generate through the API vs. reference COPY)", ratio.ToString("0.00'×'", CultureInfo.InvariantCulture), $"≤ {RatioTarget:0}×", ratio <= RatioTarget));
        JobPhases("2", startedAt, accepted, job, total);

        long generated = job.Result.GetProperty("generated").GetInt64();
        _run.Report.Add(new Check("step 2: job result `generated`", Count(_count), Count(generated), generated == _count));
        long stored = await db.CountCouponsAsync(book);
        _run.Report.Add(new Check("step 2: `select count(*) from coupons where book_id = …`", Count(_count), Count(stored), stored == _count));
        return book;
    }

    /// <summary>Step 3: a generated CSV streamed as text/csv to codes/upload, then the job polled to success. Null when it did not finish in time.</summary>
    private async Task<Guid?> ImportAsync(ApiSession api, Database db, string tag)
    {
        var book = await api.CreateBookAsync($"bench import {tag}");
        var content = new GeneratedCsvContent(CodeSeries.Scattered($"IMPRT-{tag}-", Random.Shared.Next()), _count);
        await _run.SettleAsync(db, "3");
        await api.EnsureLoggedInAsync();
        Log($"step 3: upload a {Count(_count)}-line CSV ({MiB(content.Bytes / 1024)})...");

        var cpu = _run.Cpu.Start();
        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        using var response = await api.Http.PostAsync($"/api/v1/books/{book}/codes/upload", content);
        var accepted = clock.Elapsed;
        JsonElement result;
        TimeSpan total;
        if (response.StatusCode == HttpStatusCode.OK)
        {
            // Small uploads (up to 10,000 lines) are imported at once; only a --count that small gets here.
            result = await ApiSession.ExpectAsync(response, HttpStatusCode.OK, "upload codes");
            total = clock.Elapsed;
            _run.CpuPhase("3", cpu.Stop());
            _run.Report.Add(new Phase("3", "answered 200 at once (no job: 10,000 lines or fewer)", Seconds(total)));
        }
        else
        {
            string location = await ApiSession.AcceptedJobAsync(response, "upload codes");
            ObservedJob job;
            try
            {
                job = await api.PollUntilSucceededAsync(location, PollInterval, options.JobTimeout);
            }
            catch (JobTimedOut timedOut)
            {
                var waited = clock.Elapsed;
                _run.CpuPhase("3", cpu.Stop());
                _run.Report.Add(new Measurement("3", $"import a {Count(_count)}-line CSV (+ header, {MiB(content.Bytes / 1024)}) through the API: POST …/codes/upload `text/csv`, streamed → 202 → poll; the job was still running when the bench gave up (--job-timeout)", $"> {Seconds(waited)} (not finished)", $"≤ {ImportTarget.TotalSeconds:0} s", false));
                _run.Report.Add(new Phase("3", "request → 202 (body sent and staged into upload_lines)", Seconds(accepted)));
                _run.Report.Add(new Phase("3", "job `createdAt` → bench gave up (job still running)", Seconds(DateTimeOffset.UtcNow - timedOut.CreatedAt)));
                await GiveUpOnJobAsync(api, db, timedOut, "3");
                return null;
            }

            total = clock.Elapsed;
            _run.CpuPhase("3", cpu.Stop());
            JobPhases("3", startedAt, accepted, job, total, "request → 202 (body sent and staged into upload_lines)");
            result = job.Result;
        }

        Log($"step 3: {Seconds(total)}");
        _run.Report.Add(new Measurement("3", $"import a {Count(_count)}-line CSV (+ header, {MiB(content.Bytes / 1024)}) through the API: POST …/codes/upload `text/csv`, streamed → 202 → poll until `succeeded`", Seconds(total), $"≤ {ImportTarget.TotalSeconds:0} s", total <= ImportTarget));

        long acceptedCodes = result.GetProperty("accepted").GetInt64();
        long skipped = result.GetProperty("skippedCount").GetInt64();
        _run.Report.Add(new Check("step 3: job result `accepted`", Count(_count), Count(acceptedCodes), acceptedCodes == _count));
        _run.Report.Add(new Check("step 3: job result `skippedCount`", "0", Count(skipped), skipped == 0));
        long stored = await db.CountCouponsAsync(book);
        _run.Report.Add(new Check("step 3: `select count(*) from coupons where book_id = …`", Count(_count), Count(stored), stored == _count));
        return book;
    }

    /// <summary>
    /// A job the bench stopped waiting for: its running SQL is cancelled (so the job fails and rolls back, and the
    /// later steps run on an idle server) and the report says so.
    /// </summary>
    private async Task GiveUpOnJobAsync(ApiSession api, Database db, JobTimedOut timedOut, string step)
    {
        Log($"step {step}: the job did not finish within {options.JobTimeout.TotalSeconds:0} s; cancelling its SQL");
        long cancelled = await db.CancelLongRunningAsync();
        bool ended = await api.WaitUntilFailedAsync(timedOut.Location, TimeSpan.FromSeconds(60));
        _run.Report.Note($"Step {step}: the job was still running after the bench's --job-timeout of {options.JobTimeout.TotalSeconds:0} s; the bench cancelled {cancelled} long-running statement(s) of the database so the job failed and rolled back{(ended ? "" : " (but it had not ended 60 s later)")}, and skipped the step's correctness checks. Later steps ran on an idle server.");
    }

    /// <summary>Step 4: the generated book's CSV export, read to the end, lines counted.</summary>
    private async Task ExportAsync(ApiSession api, Database db, Guid book)
    {
        await _run.SettleAsync(db, "4");
        await api.EnsureLoggedInAsync();
        Log($"step 4: export {Count(_count)} coupons...");

        var cpu = _run.Cpu.Start();
        var clock = Stopwatch.StartNew();
        using var response = await api.Http.GetAsync($"/api/v1/books/{book}/coupons/export", HttpCompletionOption.ResponseHeadersRead);
        var headers = clock.Elapsed;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            await ApiSession.ExpectAsync(response, HttpStatusCode.OK, "export coupons");
        }

        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[128 * 1024];
        long lines = 0, bytes = 0;
        var firstLine = new List<byte>();
        bool inFirstLine = true;
        byte last = (byte)'\n';
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            var span = buffer.AsSpan(0, read);
            if (inFirstLine)
            {
                int end = span.IndexOf((byte)'\n');
                firstLine.AddRange((end < 0 ? span : span[..end]).ToArray());
                inFirstLine = end < 0;
            }

            lines += span.Count((byte)'\n');
            bytes += read;
            last = span[^1];
        }

        lines += last == '\n' ? 0 : 1;
        var total = clock.Elapsed;
        _run.CpuPhase("4", cpu.Stop());
        Log($"step 4: {Seconds(total)}");

        _run.Report.Add(new Measurement("4", $"export {Count(_count)} coupons: GET …/coupons/export, body read to the end ({MiB(bytes / 1024)})", Seconds(total), $"≤ {ExportTarget.TotalSeconds:0} s", total <= ExportTarget));
        _run.Report.Add(new Phase("4", "request → response headers", Seconds(headers)));
        _run.Report.Add(new Phase("4", "headers → last byte", Seconds(total - headers)));
        _run.Report.Add(new Phase("4", "export rate", Rate(_count, total)));
        await db.SettleAsync();
        var (direct, chars) = await db.TimeExportCopyAsync(book);
        _run.Report.Add(new Phase("4", $"the export's COPY run by the bench through Npgsql's text export, no HTTP ({Count(chars)} chars; not timed in step 4)", Seconds(direct)));
        _run.Report.Add(new Check("step 4: export lines (header included)", Count(_count + 1), Count(lines), lines == _count + 1));
        string header = Encoding.UTF8.GetString([.. firstLine]).TrimEnd('\r');
        _run.Report.Add(new Check("step 4: export header", $"`{ExportHeader}`", $"`{header}`", header == ExportHeader));
        _run.Report.Add(new Check("step 4: export `Content-Type`", "`text/csv`", $"`{response.Content.Headers.ContentType?.MediaType}`", response.Content.Headers.ContentType?.MediaType == "text/csv"));
    }

    /// <summary>Step 5: GET the book 20 times to warm up, then 200 times timed, one after the other.</summary>
    private async Task BookStatsAsync(ApiSession api, Guid book)
    {
        await api.EnsureLoggedInAsync();
        Log("step 5: book stats...");
        for (int i = 0; i < StatsWarmup; i++)
        {
            await api.GetBookAsync(book);
        }

        var samples = new double[StatsCalls];
        JsonElement last = default;
        var cpu = _run.Cpu.Start();
        for (int i = 0; i < StatsCalls; i++)
        {
            long start = Stopwatch.GetTimestamp();
            last = await api.GetBookAsync(book);
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        _run.CpuPhase("5", cpu.Stop());
        Array.Sort(samples);
        double median = (samples[(StatsCalls - 1) / 2] + samples[StatsCalls / 2]) / 2;
        double p99 = samples[(int)Math.Ceiling(0.99 * StatsCalls) - 1];
        _run.Report.Add(new Measurement("5", $"book stats: GET /api/v1/books/{{id}} of the {Count(_count)}-code book, {StatsCalls} sequential calls after {StatsWarmup} warm-up: median", Millis(median), $"≤ {StatsTargetMs:0} ms", median <= StatsTargetMs));
        _run.Report.Add(new Measurement("5", "book stats: p99 (nearest rank)", Millis(p99), $"≤ {StatsTargetMs:0} ms", p99 <= StatsTargetMs));
        _run.Report.Add(new Phase("5", "book stats: min / mean / max", $"{Millis(samples[0])} / {Millis(samples.Average())} / {Millis(samples[^1])}"));

        var stats = last.GetProperty("stats");
        long total = stats.GetProperty("total").GetInt64(), unassigned = stats.GetProperty("unassigned").GetInt64();
        _run.Report.Add(new Check("step 5: `stats.total` / `stats.unassigned`", $"{Count(_count)} / {Count(_count)}", $"{Count(total)} / {Count(unassigned)}", total == _count && unassigned == _count));
    }

    private void JobPhases(string step, DateTimeOffset startedAt, TimeSpan accepted, ObservedJob job, TimeSpan total, string acceptedPhase = "request → 202")
    {
        _run.Report.Add(new Phase(step, acceptedPhase, Seconds(accepted)));
        _run.Report.Add(new Phase(step, "request → job `createdAt`", Seconds(job.CreatedAt - startedAt)));
        _run.Report.Add(new Phase(step, "job `createdAt` → `finishedAt` (the job's own duration)", Seconds(job.FinishedAt - job.CreatedAt)));
        _run.Report.Add(new Phase(step, $"job `finishedAt` → success observed ({job.Polls} polls)", Seconds(job.ObservedAt - job.FinishedAt)));
        _run.Report.Add(new Phase(step, "end-to-end rate", Rate(_count, total)));
    }

    private static void Require(bool pass, string what)
    {
        if (!pass)
        {
            throw new BenchFailure($"{what} did not write what it should; stopping");
        }
    }

    private static string Rate(long count, TimeSpan elapsed) =>
        (count / elapsed.TotalSeconds).ToString("N0", CultureInfo.InvariantCulture) + " codes/s";
}
