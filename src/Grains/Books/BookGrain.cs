using CouponBooks.Books.Codes;
using CouponBooks.Coupons;
using CouponBooks.Hosting;
using CouponBooks.Jobs;
using CouponBooks.Pools;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CouponBooks.Books;

/// <summary>
/// One book: its settings, and the single place that decides who gets which of its codes. The per-book and per-user
/// counts live here, rebuilt from the coupon rows on activation; an assignment counts itself before it awaits the
/// coupon's write, so interleaved assignments never pass a limit, and a write that fails gives its count back.
/// </summary>
internal sealed class BookGrain(
    BookStore store,
    BookSettingsCache settingsCache,
    CodeGeneration generation,
    CodeImport import,
    NpgsqlDataSource dataSource,
    TimeProvider clock,
    ILogger<BookGrain> logger) : Grain, IBookGrain
{
    /// <summary>Uploads with more lines than this run as a job.</summary>
    public const int ImmediateImportLimit = 10_000;

    private const int MaxAssignAttempts = 20;
    private const int DistributionBatch = 5000;

    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<Guid, Task<Outcome<DistributionResult>>> _distributions = [];
    private BookRecord? _book;
    private Task<AssignmentCounts>? _counts;
    private FreeCodeSupply? _supply;

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

            BookRecord? written;
            try
            {
                written = await store.UpdateAsync(Id, settings, _book.Version);
            }
            catch
            {
                // The update may have committed with only its answer lost: the next call reads the book (and its counts)
                // afresh rather than go on deciding by settings that may be stale.
                DeactivateOnIdle();
                throw;
            }

            if (written is not null)
            {
                _book = written;
                settingsCache.Set(Id, written.Settings);
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

    public async Task<Outcome<CouponView>> AssignRandomAsync(Guid userId, Guid actorId, IdempotencyTicket? ticket)
    {
        if (_book is null)
        {
            return NotFound();
        }

        var counts = await CountsAsync();
        _supply ??= new FreeCodeSupply(dataSource, Id);
        for (int attempt = 0; attempt < MaxAssignAttempts; attempt++)
        {
            if (CheckLimits(counts, userId) is { } refusal)
            {
                return refusal;
            }

            var free = await _supply.TakeAsync(_inFlight);
            if (free is null)
            {
                return new Refusal(ErrorCode.BookExhausted, "The book has no free code left.");
            }

            // Other assignments interleaved while the supply refilled: look at the limits again before counting.
            if (_inFlight.Contains(free.Code) || CheckLimits(counts, userId) is not null)
            {
                continue;
            }

            var outcome = await AssignCountedAsync(counts, free.Code, free, userId, actorId, ticket);
            if (outcome.Refusal is not { Code: ErrorCode.CouponNotAvailable or ErrorCode.NotFound })
            {
                return outcome;
            }
        }

        return new Refusal(ErrorCode.BookExhausted, "No free code could be taken; the book is (nearly) exhausted.");
    }

    public async Task<Outcome<CouponView>> AssignCodeAsync(string code, Guid userId, Guid actorId, IdempotencyTicket? ticket)
    {
        if (_book is null)
        {
            return NotFound();
        }

        var coupon = GrainFactory.GetGrain<ICouponGrain>(code);
        var current = await coupon.GetAsync(new Actor(actorId, IsAdmin: true));
        if (current.Value is not { } view || view.BookId != Id)
        {
            return new Refusal(ErrorCode.NotFound, "This book has no such code.");
        }

        var counts = await CountsAsync();
        if (CheckLimits(counts, userId) is { } refusal)
        {
            return refusal;
        }

        if (view.State != CouponState.Unassigned || _inFlight.Contains(code))
        {
            return new Refusal(ErrorCode.CouponNotAvailable, $"The coupon is {view.State.ToString().ToUpperInvariant()}; only an UNASSIGNED coupon can be assigned.");
        }

        return await AssignCountedAsync(counts, code, null, userId, actorId, ticket);
    }

    public Task<Outcome<DistributionResult>> DistributeAsync(IReadOnlyList<Guid> members, DistributionSpec spec, bool dryRun, Guid? jobId, Guid actorId)
    {
        if (dryRun || jobId is not { } id)
        {
            return DistributeOnceAsync(members, spec, dryRun, jobId, actorId);
        }

        // A job's run still going here (its job resumed elsewhere after the caller's silo went away) is joined, not run a
        // second time beside it: both would give the members not served yet.
        if (_distributions.TryGetValue(id, out var running))
        {
            return running;
        }

        var run = RunAsync();
        if (!run.IsCompleted)
        {
            _distributions[id] = run;
        }

        return run;

        async Task<Outcome<DistributionResult>> RunAsync()
        {
            try
            {
                return await DistributeOnceAsync(members, spec, dryRun: false, id, actorId);
            }
            finally
            {
                _distributions.Remove(id);
            }
        }
    }

    private async Task<Outcome<DistributionResult>> DistributeOnceAsync(IReadOnlyList<Guid> members, DistributionSpec spec, bool dryRun, Guid? jobId, Guid actorId)
    {
        if (_book is null)
        {
            return NotFound();
        }

        if (!_book.Settings.IsActiveAt(clock.GetUtcNow()))
        {
            return new Refusal(ErrorCode.BookNotActive, "The book is outside its validity window.");
        }

        var counts = await CountsAsync();
        var bulk = new BulkAssignment(dataSource);
        var already = jobId is { } id ? await bulk.GivenByJobAsync(id) : [];
        var plan = DistributionPlan.Make(members, spec, _book.Settings, counts, already);
        if (dryRun)
        {
            long free = await bulk.FreeCountAsync(Id);
            return Outcome<DistributionResult>.Success(plan.Result(Math.Min(plan.Planned, free), plan.Planned > free));
        }

        _supply ??= new FreeCodeSupply(dataSource, Id);
        long given = already.Values.Sum();
        long skippedUser = 0, skippedBook = 0;
        bool exhausted = false;
        using var pending = new RecipientQueue(plan.Recipients());
        while (pending.TryPeek(out _) && !exhausted)
        {
            // Take codes and count the batch before awaiting its write, as single assignments do.
            var batch = new List<(FreeCoupon Coupon, Guid UserId)>(DistributionBatch);
            while (batch.Count < DistributionBatch && pending.TryPeek(out var user))
            {
                // The plan left room for this coupon, but single assignments may have used it since (they interleave).
                if (CheckLimits(counts, user) is { } refusal)
                {
                    pending.Dequeue();
                    skippedUser += refusal.Code == ErrorCode.PerUserLimitReached ? 1 : 0;
                    skippedBook += refusal.Code == ErrorCode.PerUserLimitReached ? 0 : 1;
                    continue;
                }

                var free = await _supply.TakeAsync(_inFlight);
                if (free is null)
                {
                    exhausted = true;
                    break;
                }

                // Other assignments interleaved while the supply refilled: the loop looks at the limits again first.
                if (_inFlight.Contains(free.Code) || CheckLimits(counts, user) is not null)
                {
                    continue;
                }

                _inFlight.Add(free.Code);
                counts.Add(user);
                pending.Dequeue();
                batch.Add((free, user));
            }

            if (batch.Count == 0)
            {
                continue;
            }

            HashSet<string> written;
            try
            {
                written = await bulk.AssignAsync(Id, batch, clock.GetUtcNow(), actorId, jobId);
            }
            catch
            {
                // The batch's outcome is unknown (it may have committed): its codes leave the in-flight set, but its users
                // keep their counts, so the book errs towards giving fewer, never more, until it reloads its counts.
                foreach (var (coupon, _) in batch)
                {
                    _inFlight.Remove(coupon.Code);
                }

                throw;
            }

            Release(counts, batch, written);
            SiloMetrics.Transitioned(CouponAction.Assign, written.Count);
            given += written.Count;
            foreach (var (coupon, user) in batch.Where(b => !written.Contains(b.Coupon.Code)))
            {
                pending.Again(user);
            }
        }

        logger.LogInformation("Distributed {Given} coupons of book {BookId} ({Mode})", given, Id, spec.Mode);
        return Outcome<DistributionResult>.Success(plan.Result(given, exhausted, skippedUser, skippedBook));
    }

    /// <summary>Ends a batch's reservations: codes leave the in-flight set, and users whose code was not given get their count back.</summary>
    private void Release(AssignmentCounts counts, List<(FreeCoupon Coupon, Guid UserId)> batch, HashSet<string> written)
    {
        foreach (var (coupon, user) in batch)
        {
            _inFlight.Remove(coupon.Code);
            if (!written.Contains(coupon.Code))
            {
                counts.Remove(user);
            }
        }
    }

    /// <summary>
    /// Counts the assignment, has the coupon write it, and gives the count back if the coupon refused. A call that
    /// failed (database or silo unreachable, timeout) may have been written all the same, so it keeps its count: the
    /// book may then give one coupon fewer than its limit until the counts are rebuilt, but never one more.
    /// </summary>
    private async Task<Outcome<CouponView>> AssignCountedAsync(
        AssignmentCounts counts, string code, FreeCoupon? known, Guid userId, Guid actorId, IdempotencyTicket? ticket)
    {
        counts.Add(userId);
        _inFlight.Add(code);
        try
        {
            var outcome = await GrainFactory.GetGrain<ICouponGrain>(code).AssignAsync(Id, userId, actorId, known, ticket);
            if (outcome.IsRefused)
            {
                counts.Remove(userId);
            }

            return outcome;
        }
        finally
        {
            _inFlight.Remove(code);
        }
    }

    /// <summary>The counts, loaded once by whichever assignment comes first; a failed load is tried again next time.</summary>
    private async Task<AssignmentCounts> CountsAsync()
    {
        var load = _counts ??= AssignmentCounts.LoadAsync(dataSource, Id);
        try
        {
            return await load;
        }
        catch
        {
            if (ReferenceEquals(_counts, load))
            {
                _counts = null;
            }

            throw;
        }
    }

    private Refusal? CheckLimits(AssignmentCounts counts, Guid userId)
    {
        var settings = _book!.Settings;
        if (!settings.IsActiveAt(clock.GetUtcNow()))
        {
            return new Refusal(ErrorCode.BookNotActive, "The book is outside its validity window.");
        }

        if (settings.MaxTotalAssignments is { } total && counts.Total >= total)
        {
            return new Refusal(ErrorCode.BookLimitReached, $"The book gave out its {total} coupon(s).");
        }

        if (settings.MaxAssignmentsPerUser is { } perUser && counts.Of(userId) >= perUser)
        {
            return new Refusal(ErrorCode.PerUserLimitReached, $"The user holds {perUser} coupon(s) of this book, as many as allowed.");
        }

        return null;
    }

    private async Task<BookView> ViewAsync(BookRecord book) =>
        new(book.Id, book.Settings, book.CreatedAt, await store.GetStatsAsync(book.Id));

    private static Refusal NotFound() => new(ErrorCode.NotFound, "No such book.");
}

/// <summary>How many of a book's coupons were ever given out, in all and per user: rebuilt from the coupon rows.</summary>
internal sealed class AssignmentCounts
{
    private readonly Dictionary<Guid, int> _perUser = [];

    public long Total { get; private set; }

    public int Of(Guid userId) => _perUser.GetValueOrDefault(userId);

    public void Add(Guid userId)
    {
        _perUser[userId] = Of(userId) + 1;
        Total++;
    }

    public void Remove(Guid userId)
    {
        _perUser[userId] = Of(userId) - 1;
        Total--;
    }

    public static async Task<AssignmentCounts> LoadAsync(NpgsqlDataSource dataSource, Guid bookId)
    {
        var counts = new AssignmentCounts();
        await using var command = dataSource.CreateCommand("select user_id, count(*) from coupons where book_id = $1 and user_id is not null group by user_id");
        command.Parameters.AddWithValue(bookId);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            int count = (int)reader.GetInt64(1);
            counts._perUser[reader.GetGuid(0)] = count;
            counts.Total += count;
        }

        return counts;
    }
}
