using CouponBooks.Books.Codes;
using CouponBooks.Jobs;
using Microsoft.Extensions.Logging;

namespace CouponBooks.Books;

internal sealed class BookGrain(
    BookStore store,
    CodeGeneration generation,
    CodeImport import,
    ILogger<BookGrain> logger) : Grain, IBookGrain
{
    /// <summary>Uploads with more lines than this run as a job.</summary>
    public const int ImmediateImportLimit = 10_000;

    private BookRecord? _book;

    private Guid Id => this.GetPrimaryKey();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _book = await store.GetAsync(Id);
    }

    public async Task<Outcome<BookView>> CreateAsync(BookSettings settings)
    {
        if (_book is not null)
        {
            return new Refusal(ErrorCode.ValidationFailed, "A book with this id exists already.");
        }

        _book = await store.InsertAsync(Id, settings);
        logger.LogInformation("Created book {BookId} ({Name})", Id, settings.Name);
        return Outcome<BookView>.Success(new BookView(Id, _book.Settings, _book.CreatedAt, new BookStats(0, 0, 0, 0, 0)));
    }

    public async Task<BookView?> GetAsync() => _book is null ? null : await ViewAsync(_book);

    public async Task<Outcome<BookView>> PatchAsync(BookPatch patch)
    {
        if (_book is null)
        {
            return NotFound();
        }

        for (int attempt = 0; ; attempt++)
        {
            var settings = patch.ApplyTo(_book.Settings);
            if (settings.ValidFrom is { } from && settings.ValidUntil is { } until && from > until)
            {
                return new Refusal(ErrorCode.ValidationFailed, "validFrom must not be after validUntil.", Field: "validFrom");
            }

            var written = await store.UpdateAsync(Id, settings, _book.Version);
            if (written is not null)
            {
                _book = written;
                return Outcome<BookView>.Success(await ViewAsync(written));
            }

            // Another activation wrote the row since we read it: read again and apply the patch to that.
            _book = await store.GetAsync(Id) ?? throw new InvalidOperationException($"Book {Id} vanished from the books table.");
            if (attempt >= 5)
            {
                throw new InvalidOperationException($"Book {Id} keeps changing under a patch.");
            }
        }
    }

    public async Task<Outcome<Guid>> GenerateCodesAsync(string pattern, int count)
    {
        if (_book is null)
        {
            return NotFound();
        }

        if (!CodePattern.TryParse(pattern, out var parsed, out string? error))
        {
            return new Refusal(ErrorCode.ValidationFailed, error!, Field: "pattern");
        }

        if (await generation.CheckCapacityAsync(parsed!, count) is { } refusal)
        {
            return refusal;
        }

        var jobId = Guid.CreateVersion7();
        await GrainFactory.GetGrain<IJobGrain>(jobId).StartAsync(new JobSpec(JobKind.GenerateCodes, Id, count, Pattern: parsed!.Text));
        return Outcome<Guid>.Success(jobId);
    }

    public async Task<ImportOutcome> ImportCodesAsync(Guid uploadId, bool skipInvalid, int lines)
    {
        if (_book is null)
        {
            await import.DiscardAsync(uploadId);
            return new ImportOutcome(null, null, new Refusal(ErrorCode.NotFound, "No such book."), null);
        }

        if (lines > ImmediateImportLimit)
        {
            var jobId = Guid.CreateVersion7();
            await GrainFactory.GetGrain<IJobGrain>(jobId).StartAsync(
                new JobSpec(JobKind.ImportCodes, Id, lines, UploadId: uploadId, SkipInvalid: skipInvalid));
            return new ImportOutcome(null, jobId, null, null);
        }

        try
        {
            var report = await import.RunAsync(uploadId, uploadId, Id, skipInvalid, progress: null, CancellationToken.None);
            return new ImportOutcome(report, null, null, null);
        }
        catch (JobRefusedException refused)
        {
            return new ImportOutcome(null, null, new Refusal(refused.Error.Code ?? ErrorCode.ValidationFailed, refused.Error.Detail), refused.Error.Offenders);
        }
    }

    private async Task<BookView> ViewAsync(BookRecord book) =>
        new(book.Id, book.Settings, book.CreatedAt, await store.GetStatsAsync(book.Id));

    private static Refusal NotFound() => new(ErrorCode.NotFound, "No such book.");
}
