using CouponBooks.Users;

namespace CouponBooks.Pools;

[GenerateSerializer, Immutable, Alias("CouponBooks.PoolView")]
public sealed record PoolView(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string? Description,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] long MemberCount);

/// <summary>What adding members did: counts, and the ids and emails given that match no user.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.MembersAdded")]
public sealed record MembersAdded(
    [property: Id(0)] long Added,
    [property: Id(1)] long AlreadyMembers,
    [property: Id(2)] IReadOnlyList<string> Unknown);

public enum DistributionMode
{
    Equal,
    Random,
}

/// <summary>A distribution of a book's codes to a pool's members.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.DistributionSpec")]
public sealed record DistributionSpec(
    [property: Id(0)] Guid BookId,
    [property: Id(1)] DistributionMode Mode,
    [property: Id(2)] int PerUser,
    [property: Id(3)] long Total,
    [property: Id(4)] long Seed);

/// <summary>
/// A distribution's result: coupons asked for, given, not given for a member's or the book's limit, whether free
/// codes ran out, and the seed of the random draw.
/// </summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.DistributionResult")]
public sealed record DistributionResult(
    [property: Id(0)] long Requested,
    [property: Id(1)] long Assigned,
    [property: Id(2)] long SkippedUserLimit,
    [property: Id(3)] long SkippedBookLimit,
    [property: Id(4)] bool Exhausted,
    [property: Id(5)] long Seed);

/// <summary>A distribution request's answer: the job that runs it, or (dry run) the result it would have.</summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.DistributionStart")]
public sealed record DistributionStart(
    [property: Id(0)] Guid? JobId,
    [property: Id(1)] DistributionResult? DryRun);

/// <summary>One pool: its settings and members; drives distributions through the book. Keyed by the pool id.</summary>
public interface IPoolGrain : IGrainWithGuidKey
{
    Task<Outcome<PoolView>> CreateAsync(string name, string? description);

    Task<PoolView?> GetAsync();

    /// <summary>Deletes the pool and its member list; coupons already given stay where they are.</summary>
    Task<bool> DeleteAsync();

    Task<Outcome<MembersAdded>> AddMembersAsync(IReadOnlyList<Guid> userIds, IReadOnlyList<string> emails);

    Task<Outcome<bool>> RemoveMemberAsync(Guid userId);

    /// <summary>
    /// Starts a distribution job (id <paramref name="jobId"/>, so a retried request finds its first job), or
    /// answers a dry run's result; <paramref name="requestHash"/> tells a retry from another request with the same job id.
    /// </summary>
    Task<Outcome<DistributionStart>> DistributeAsync(DistributionSpec spec, bool dryRun, Guid jobId, byte[] requestHash, Guid actorId);
}

[GenerateSerializer, Immutable, Alias("CouponBooks.PoolPage")]
public sealed record PoolPage(
    [property: Id(0)] IReadOnlyList<PoolView> Items,
    [property: Id(1)] Guid? Next);

/// <summary>Listings of pools and of a pool's members. Stateless.</summary>
public interface IPoolDirectoryGrain : IGrainWithIntegerKey
{
    Task<PoolPage> ListAsync(Guid? after, int limit);

    Task<UserPage> MembersAsync(Guid poolId, Guid? after, int limit);
}
