using CouponBooks.Pools;

namespace CouponBooks.Books;

/// <summary>
/// Who is to get how many coupons in a distribution, within the per-user and per-book limits as counted now:
/// <c>equal</c> gives every member <c>perUser</c>; <c>random</c> draws <c>total</c> times (seeded) among the members
/// still below the per-user limit. A resumed job counts what it gave already.
/// </summary>
internal sealed class DistributionPlan
{
    private readonly Dictionary<Guid, int> _grants;

    private DistributionPlan(Dictionary<Guid, int> grants, long requested, long skippedUser, long skippedBook, long seed)
    {
        _grants = grants;
        Requested = requested;
        SkippedUserLimit = skippedUser;
        SkippedBookLimit = skippedBook;
        Seed = seed;
    }

    public long Requested { get; }

    public long SkippedUserLimit { get; }

    public long SkippedBookLimit { get; }

    public long Seed { get; }

    /// <summary>Coupons still to give.</summary>
    public long Planned => _grants.Values.Sum(v => (long)v);

    /// <summary>The result, with what the run itself had to skip because other assignments used the room the plan saw.</summary>
    public DistributionResult Result(long assigned, bool exhausted, long lateSkippedUser = 0, long lateSkippedBook = 0) =>
        new(Requested, assigned, SkippedUserLimit + lateSkippedUser, SkippedBookLimit + lateSkippedBook, exhausted, Seed);

    /// <summary>One entry per coupon to give, members interleaved so that a shortage falls evenly.</summary>
    public IEnumerable<Guid> Recipients()
    {
        var remaining = _grants.Where(g => g.Value > 0).ToDictionary(g => g.Key, g => g.Value);
        while (remaining.Count > 0)
        {
            foreach (var user in remaining.Keys.ToList())
            {
                yield return user;
                if (--remaining[user] == 0)
                {
                    remaining.Remove(user);
                }
            }
        }
    }

    public static DistributionPlan Make(IReadOnlyList<Guid> members, DistributionSpec spec, BookSettings settings, AssignmentCounts counts, IReadOnlyDictionary<Guid, int> alreadyGiven)
    {
        long bookRoom = settings.MaxTotalAssignments is { } max ? Math.Max(0, max - counts.Total) : long.MaxValue;
        int Room(Guid user) => settings.MaxAssignmentsPerUser is { } perUser ? Math.Max(0, perUser - counts.Of(user)) : int.MaxValue;
        var grants = new Dictionary<Guid, int>();
        long skippedUser = 0, skippedBook = 0;

        if (spec.Mode == DistributionMode.Equal)
        {
            foreach (var member in members.Distinct())
            {
                int want = Math.Max(0, spec.PerUser - alreadyGiven.GetValueOrDefault(member));
                int allowed = Math.Min(want, Room(member));
                skippedUser += want - allowed;
                int granted = (int)Math.Min(allowed, bookRoom);
                skippedBook += allowed - granted;
                bookRoom -= granted;
                grants[member] = granted;
            }

            return new DistributionPlan(grants, (long)spec.PerUser * members.Distinct().Count(), skippedUser, skippedBook, spec.Seed);
        }

        long draws = Math.Max(0, spec.Total - alreadyGiven.Values.Sum(v => (long)v));
        var eligible = members.Distinct().Where(m => Room(m) > 0).ToList();
        var room = eligible.ToDictionary(m => m, Room);
        var random = new Random(unchecked((int)spec.Seed ^ (int)(spec.Seed >> 32)));
        for (long i = 0; i < draws; i++)
        {
            if (bookRoom == 0)
            {
                skippedBook += draws - i;
                break;
            }

            if (eligible.Count == 0)
            {
                // Every member is at the per-user limit; an empty pool has nobody to skip, so nothing is counted.
                skippedUser += members.Count > 0 ? draws - i : 0;
                break;
            }

            int pick = random.Next(eligible.Count);
            var member = eligible[pick];
            grants[member] = grants.GetValueOrDefault(member) + 1;
            bookRoom--;
            if (--room[member] == 0)
            {
                eligible[pick] = eligible[^1];
                eligible.RemoveAt(eligible.Count - 1);
            }
        }

        return new DistributionPlan(grants, spec.Total, skippedUser, skippedBook, spec.Seed);
    }
}

/// <summary>
/// A distribution's recipients, drawn from the plan as codes are given (a plan may name far more coupons than the
/// book has free: 1000 each for 100,000 members), then those whose write must be tried again.
/// </summary>
internal sealed class RecipientQueue(IEnumerable<Guid> planned) : IDisposable
{
    private readonly IEnumerator<Guid> _planned = planned.GetEnumerator();
    private readonly Queue<Guid> _again = new();
    private Guid? _next;

    public bool TryPeek(out Guid user)
    {
        if (_next is null)
        {
            if (_planned.MoveNext())
            {
                _next = _planned.Current;
            }
            else if (_again.TryDequeue(out var again))
            {
                _next = again;
            }
        }

        user = _next.GetValueOrDefault();
        return _next is not null;
    }

    /// <summary>Takes the recipient <see cref="TryPeek"/> answered.</summary>
    public void Dequeue() => _next = null;

    public void Again(Guid user) => _again.Enqueue(user);

    public void Dispose() => _planned.Dispose();
}
