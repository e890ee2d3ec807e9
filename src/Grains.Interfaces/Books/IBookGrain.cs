namespace CouponBooks.Books;

/// <summary>One coupon book: its settings, its codes' supply and (later) its limits. Keyed by the book id.</summary>
public interface IBookGrain : IGrainWithGuidKey
{
    Task<Outcome<BookView>> CreateAsync(BookSettings settings);

    Task<BookView?> GetAsync();

    Task<Outcome<BookView>> PatchAsync(BookPatch patch);

    /// <summary>Checks the pattern's capacity and starts a generation job; answers the job id.</summary>
    Task<Outcome<Guid>> GenerateCodesAsync(string pattern, int count);

    /// <summary>Imports the staged lines of an upload: at once when small, else as a job.</summary>
    Task<ImportOutcome> ImportCodesAsync(Guid uploadId, bool skipInvalid, int lines);

    /// <summary>Gives a random free code to a user within the validity window and the book's limits.</summary>
    /// <remarks>Interleaves: each call counts its reservation before it awaits the coupon's write, so many writes share a commit.</remarks>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<Outcome<Coupons.CouponView>> AssignRandomAsync(Guid userId, Guid actorId, Coupons.IdempotencyTicket? ticket);

    /// <summary>Gives one named code of this book to a user within the same limits.</summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<Outcome<Coupons.CouponView>> AssignCodeAsync(string code, Guid userId, Guid actorId, Coupons.IdempotencyTicket? ticket);

    /// <summary>
    /// Gives codes to many users within the same limits, set-based in batches (or only counts them, for a dry run).
    /// A job's assignments are tagged with its id, so a resumed job gives only what it had not given yet.
    /// </summary>
    [Orleans.Concurrency.AlwaysInterleave]
    [ResponseTimeout("01:00:00")]
    Task<Outcome<Pools.DistributionResult>> DistributeAsync(IReadOnlyList<Guid> members, Pools.DistributionSpec spec, bool dryRun, Guid? jobId, Guid actorId);
}

[GenerateSerializer, Immutable, Alias("CouponBooks.BookPage")]
public sealed record BookPage(
    [property: Id(0)] IReadOnlyList<BookView> Items,
    [property: Id(1)] Guid? Next);

/// <summary>Listings of books with their stats, read from the books table. Stateless.</summary>
public interface IBookDirectoryGrain : IGrainWithIntegerKey
{
    Task<BookPage> ListAsync(Guid? after, int limit);
}
