using CouponBooks.Books;
using CouponBooks.Jobs;

namespace CouponBooks.Pools;

internal sealed class PoolGrain(PoolStore store) : Grain, IPoolGrain
{
    private PoolView? _pool;
    private bool _loaded;

    private Guid Id => this.GetPrimaryKey();

    public async Task<Outcome<PoolView>> CreateAsync(string name, string? description)
    {
        if (await LoadAsync() is not null)
        {
            return new Refusal(ErrorCode.ValidationFailed, "A pool with this id exists already.");
        }

        _pool = await store.InsertAsync(Id, name, description);
        return Outcome<PoolView>.Success(_pool);
    }

    public async Task<PoolView?> GetAsync() => await LoadAsync() is null ? null : _pool = await store.GetAsync(Id);

    public async Task<bool> DeleteAsync()
    {
        bool deleted = await store.DeleteAsync(Id);
        _pool = null;
        _loaded = true;
        return deleted;
    }

    public async Task<Outcome<MembersAdded>> AddMembersAsync(IReadOnlyList<Guid> userIds, IReadOnlyList<string> emails) =>
        await LoadAsync() is null ? NotFound() : Outcome<MembersAdded>.Success(await store.AddMembersAsync(Id, userIds, emails));

    public async Task<Outcome<bool>> RemoveMemberAsync(Guid userId)
    {
        if (await LoadAsync() is null)
        {
            return NotFound();
        }

        return await store.RemoveMemberAsync(Id, userId)
            ? Outcome<bool>.Success(true)
            : new Refusal(ErrorCode.NotFound, "The user is not a member of this pool.");
    }

    public async Task<Outcome<DistributionStart>> DistributeAsync(DistributionSpec spec, bool dryRun, Guid jobId, byte[] requestHash, Guid actorId)
    {
        var job = GrainFactory.GetGrain<IJobGrain>(jobId);
        if (!dryRun && await job.GetAsync() is not null)
        {
            // Only a keyed request (through its IdempotencyGrain) names a job that may exist: a repeat answers its
            // first job (or 422 for another request), whatever changed since (the pool deleted, the book's window closed).
            return Started(await job.StartAsync(new JobSpec(JobKind.Distribute, spec.BookId, 0, PoolId: Id, Distribution: spec, RequestHash: requestHash, ActorId: actorId)), jobId);
        }

        if (await LoadAsync() is null)
        {
            return NotFound();
        }

        var book = GrainFactory.GetGrain<IBookGrain>(spec.BookId);
        if (dryRun)
        {
            var members = await store.MembersAsync(Id);
            var planned = await book.DistributeAsync(members, spec, dryRun: true, jobId: null, actorId);
            return planned.Refusal is { } refusal ? refusal : Outcome<DistributionStart>.Success(new DistributionStart(null, planned.Value));
        }

        // Refuse at once what the job would refuse: an unknown book or one outside its validity window.
        var view = await book.GetAsync();
        if (view is null)
        {
            return new Refusal(ErrorCode.NotFound, "No such book.");
        }

        if (!view.Settings.IsActiveAt(DateTimeOffset.UtcNow))
        {
            return new Refusal(ErrorCode.BookNotActive, "The book is outside its validity window.");
        }

        long memberCount = (await store.GetAsync(Id))?.MemberCount ?? 0;
        long total = spec.Mode == DistributionMode.Equal ? spec.PerUser * memberCount : spec.Total;
        return Started(await job.StartAsync(new JobSpec(
            JobKind.Distribute, spec.BookId, total, PoolId: Id, Distribution: spec, RequestHash: requestHash, ActorId: actorId)), jobId);
    }

    /// <summary>The answer to a start: the job, or 422 when its key named a job of another request.</summary>
    private static Outcome<DistributionStart> Started(bool started, Guid jobId) => started
        ? Outcome<DistributionStart>.Success(new DistributionStart(jobId, null))
        : new Refusal(ErrorCode.IdempotencyKeyReused, "This Idempotency-Key was used for another distribution request.");

    private async Task<PoolView?> LoadAsync()
    {
        if (!_loaded)
        {
            _pool = await store.GetAsync(Id);
            _loaded = true;
        }

        return _pool;
    }

    private static Refusal NotFound() => new(ErrorCode.NotFound, "No such pool.");
}
