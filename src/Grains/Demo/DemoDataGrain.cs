using CouponBooks.Books;
using CouponBooks.Coupons;
using CouponBooks.Jobs;
using CouponBooks.Pools;
using CouponBooks.Storage;
using CouponBooks.Users;
using Microsoft.Extensions.Logging;

namespace CouponBooks.Demo;

/// <summary>Whether the showcase data was loaded (Orleans grain storage, System.Text.Json).</summary>
public sealed class DemoState
{
    /// <summary>Set when a load finished; from then on a load does nothing.</summary>
    public DateTimeOffset? LoadedAt { get; set; }

    /// <summary>When the first load began: the expiring book's window is counted from it, also by a resumed load.</summary>
    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>Code generation job per book, so a resumed load waits for its job instead of starting another.</summary>
    public Dictionary<Guid, Guid> GenerationJobs { get; set; } = [];
}

/// <summary>
/// Loads <see cref="DemoCatalog"/> through the same grain calls the Api makes, so limits, counts and history
/// hold as for any other data. Every step first looks at what exists, so a load cut short is completed by
/// the next one; a finished load is recorded and later loads change nothing.
/// </summary>
internal sealed class DemoDataGrain(
    [PersistentState(StorageNames.Demo, StorageNames.Store)] IPersistentState<DemoState> state,
    TimeProvider clock,
    ILogger<DemoDataGrain> logger) : Grain, IDemoDataGrain
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(5);

    public async Task<DemoReport> LoadAsync()
    {
        if (state.State.LoadedAt is { } loadedAt)
        {
            logger.LogInformation("Demo data was loaded at {LoadedAt}; nothing to do", loadedAt);
            return new DemoReport(true, loadedAt, 0, 0, 0, 0, 0, 0);
        }

        if (state.State.StartedAt is null)
        {
            state.State.StartedAt = clock.GetUtcNow();
            await state.WriteStateAsync();
        }

        var startedAt = state.State.StartedAt.Value;
        var (userIds, usersCreated) = await EnsureUsersAsync();
        int booksCreated = 0;
        long codesGenerated = 0;
        foreach (var book in DemoCatalog.Books)
        {
            var (created, generated) = await EnsureBookAsync(book, startedAt);
            booksCreated += created ? 1 : 0;
            codesGenerated += generated;
        }

        int assigned = 0;
        foreach (var assignment in DemoCatalog.Assignments)
        {
            assigned += await EnsureAssignmentAsync(assignment, userIds[assignment.User.Email]);
        }

        int poolsCreated = 0;
        long membersAdded = 0;
        foreach (var pool in DemoCatalog.Pools)
        {
            var (created, added) = await EnsurePoolAsync(pool, userIds);
            poolsCreated += created ? 1 : 0;
            membersAdded += added;
        }

        state.State.LoadedAt = clock.GetUtcNow();
        state.State.GenerationJobs.Clear();
        await state.WriteStateAsync();
        var report = new DemoReport(false, state.State.LoadedAt.Value, usersCreated, booksCreated, codesGenerated, assigned, poolsCreated, membersAdded);
        logger.LogInformation("Demo data loaded: {Report}", report);
        return report;
    }

    /// <summary>Registers the demo users that no user's email matches yet; answers every demo user's id by email.</summary>
    private async Task<(Dictionary<string, Guid> Ids, int Created)> EnsureUsersAsync()
    {
        var directory = GrainFactory.GetGrain<IUserDirectoryGrain>(0);
        var ids = new Dictionary<string, Guid>(StringComparer.OrdinalIgnoreCase);
        int created = 0;
        foreach (var user in DemoCatalog.Users)
        {
            if (await directory.FindByEmailAsync(user.Email) is not { } existing)
            {
                var outcome = await GrainFactory.GetGrain<IUserGrain>(user.Id)
                    .RegisterAsync(new Registration(user.Email, user.Password, user.DisplayName, UserRole.User));
                existing = outcome.Value ?? await directory.FindByEmailAsync(user.Email)
                    ?? throw new InvalidOperationException($"Demo user {user.Email} could not be registered: {outcome.Refusal?.Detail}");
                created += outcome.Value is null ? 0 : 1;
            }

            ids[user.Email] = existing.Id;
        }

        return (ids, created);
    }

    /// <summary>Creates the book if it does not exist and gives it its codes if it has none.</summary>
    private async Task<(bool Created, long Generated)> EnsureBookAsync(DemoCatalog.DemoBook demo, DateTimeOffset startedAt)
    {
        var book = GrainFactory.GetGrain<IBookGrain>(demo.Id);
        bool created = false;
        if (await book.GetAsync() is not { } view)
        {
            var outcome = await book.CreateAsync(demo.Settings(startedAt));
            view = outcome.Value ?? throw new InvalidOperationException($"Demo book {demo.Id} could not be created: {outcome.Refusal?.Detail}");
            created = true;
        }

        if (view.Stats.Total > 0)
        {
            return (created, 0);
        }

        if (!state.State.GenerationJobs.TryGetValue(demo.Id, out var jobId))
        {
            var started = await book.GenerateCodesAsync(demo.Pattern, demo.Codes);
            if (started.Refusal is { } refusal)
            {
                throw new InvalidOperationException($"Codes for demo book {view.Settings.Name} could not be generated: {refusal.Detail}");
            }

            jobId = started.Value;
            state.State.GenerationJobs[demo.Id] = jobId;
            await state.WriteStateAsync();
        }

        var job = await WaitForJobAsync(jobId);
        if (job.State != JobState.Succeeded)
        {
            // The next load starts a new job.
            state.State.GenerationJobs.Remove(demo.Id);
            await state.WriteStateAsync();
            throw new InvalidOperationException($"Code generation for demo book {view.Settings.Name} failed: {job.Error?.Detail}");
        }

        return (created, job.Total);
    }

    private async Task<JobView> WaitForJobAsync(Guid jobId)
    {
        var job = GrainFactory.GetGrain<IJobGrain>(jobId);
        var deadline = clock.GetUtcNow() + JobTimeout;
        while (true)
        {
            var view = await job.GetAsync() ?? throw new InvalidOperationException($"Job {jobId} does not exist.");
            if (view.State is JobState.Succeeded or JobState.Failed)
            {
                return view;
            }

            if (clock.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"Job {jobId} did not finish within {JobTimeout}.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), clock);
        }
    }

    /// <summary>Gives the user random codes of the book, as the user would ask for them, until the user holds the catalog's count.</summary>
    private async Task<int> EnsureAssignmentAsync(DemoCatalog.DemoAssignment assignment, Guid userId)
    {
        var held = await GrainFactory.GetGrain<ICouponDirectoryGrain>(0)
            .ListAsync(new CouponQuery(assignment.Book.Id, userId, null, null, assignment.Count));
        int given = 0;
        for (int i = held.Items.Count; i < assignment.Count; i++)
        {
            var outcome = await GrainFactory.GetGrain<IBookGrain>(assignment.Book.Id).AssignRandomAsync(userId, userId, null);
            if (outcome.Refusal is { } refusal)
            {
                logger.LogWarning("Demo coupon of book {BookId} for {Email} not given: {Code} {Detail}", assignment.Book.Id, assignment.User.Email, refusal.Code, refusal.Detail);
                break;
            }

            given++;
        }

        return given;
    }

    private async Task<(bool Created, long Added)> EnsurePoolAsync(DemoCatalog.DemoPool demo, IReadOnlyDictionary<string, Guid> userIds)
    {
        var pool = GrainFactory.GetGrain<IPoolGrain>(demo.Id);
        bool created = false;
        if (await pool.GetAsync() is null)
        {
            var outcome = await pool.CreateAsync(demo.Name, demo.Description);
            if (outcome.Refusal is { } refusal)
            {
                throw new InvalidOperationException($"Demo pool {demo.Name} could not be created: {refusal.Detail}");
            }

            created = true;
        }

        var members = await pool.AddMembersAsync(demo.Members.Select(m => userIds[m.Email]).ToList(), []);
        return (created, members.Value?.Added ?? throw new InvalidOperationException($"Members of demo pool {demo.Name} could not be added: {members.Refusal?.Detail}"));
    }
}
