using System.Text.Json;
using CouponBooks.Books;
using CouponBooks.Hosting;
using Orleans.Concurrency;

namespace CouponBooks.Coupons;

/// <summary>
/// One coupon: decides every transition in memory (refusals of a coupon it has read never touch the database) and writes each change,
/// with its history and idempotency key, through the silo's batched <see cref="CouponWriter"/>, conditional on the
/// version it read. When the row moved on (a lock released by the sweep, another activation after a silo failure),
/// it reads the row again and decides again.
/// </summary>
/// <remarks>
/// Calls interleave, so a busy coupon does not wait one commit per transition: while one write is in flight, the
/// calls that arrive are decided on the state it will leave and gathered into the next write (one row update with
/// all their history rows), sent when the first lands. Nobody hears an answer before the state it was decided on is
/// durable: a change when its write lands, a refusal when the write it saw pending lands. When a write does not
/// land, everything decided on it is void: the row is read again and those calls decide again. Reads answer the
/// durable state.
/// <para>
/// A coupon with an owner changes only through its grain (and the expiry sweep, which the lock's time already says),
/// but a missing or UNASSIGNED row can change under it: codes are imported and generated, and pools distributed,
/// straight into the table in bulk. So an answer that rests on such a row (a read, a refusal) reads it again first,
/// unless it was read since the call came in; a change needs no such read, its write is conditional on the version.
/// </para>
/// </remarks>
[Reentrant]
[CollectionAgeLimit(Minutes = 5)]
internal sealed class CouponGrain(CouponStore store, CouponWriter writer, BookSettingsCache books, TimeProvider clock) : Grain, ICouponGrain
{
    private const int MaxAttempts = 5;

    /// <summary>The durable row: as read, or as the last write that landed left it.</summary>
    private CouponRow? _row;
    private bool _loaded;
    private Task<CouponRow?>? _loading;

    /// <summary>Reads started so far, and which of them gave <see cref="_row"/> (0: the row came another way).</summary>
    private long _readsStarted;
    private long _rowRead;

    /// <summary>The write in flight (at most one per coupon, so its writes land in order).</summary>
    private Group? _writing;

    /// <summary>Changes decided on top of <see cref="_writing"/>, written when it lands.</summary>
    private Group? _gathering;

    private string Code => this.GetPrimaryKeyString();

    /// <summary>The state the next decision builds on: the durable row with every change decided since.</summary>
    private CouponRow? Tip => _gathering?.Next ?? _writing?.Next ?? _row;

    public async Task<Outcome<CouponView>> GetAsync(Actor actor)
    {
        var row = await CurrentRowAsync();
        return Visible(row, actor) ? Outcome<CouponView>.Success(row!.ViewAt(Now())) : NotFound();
    }

    public async Task<Outcome<IReadOnlyList<HistoryEntry>>> GetHistoryAsync(Actor actor)
    {
        var row = await CurrentRowAsync();
        if (!Visible(row, actor))
        {
            return NotFound();
        }

        var history = await store.HistoryAsync(Code);
        // A run-out lock reads as released at once; the sweep may have recorded it already (this row may be older).
        if (PendingExpiry(row!, Now()) is { } expiry && !history.Any(h => h.Action == CouponAction.Expire && h.At == expiry.At))
        {
            history.Add(expiry);
        }

        return Outcome<IReadOnlyList<HistoryEntry>>.Success(history);
    }

    public async Task<Outcome<CouponView>> AssignAsync(Guid bookId, Guid userId, Guid actorId, FreeCoupon? known, IdempotencyTicket? ticket)
    {
        if (!_loaded && _loading is null && known is not null)
        {
            _row = new CouponRow(known.Code, bookId, CouponState.Unassigned, null, null, null, 0, null, known.Version);
            _rowRead = 0;
            _loaded = true;
        }

        return await ChangeAsync(ticket, (row, now) =>
        {
            if (row is null || row.BookId != bookId)
            {
                return NotFound();
            }

            if (row.State != CouponState.Unassigned)
            {
                return new Refusal(ErrorCode.CouponNotAvailable, $"The coupon is {Name(row.StateAt(now))}; only an UNASSIGNED coupon can be assigned.");
            }

            var next = row with { State = CouponState.Assigned, UserId = userId, AssignedAt = now };
            return new Change(next, [new HistoryEntry(now, CouponAction.Assign, CouponState.Unassigned, CouponState.Assigned, userId, actorId)]);
        });
    }

    public async Task<Outcome<CouponView>> LockAsync(Actor actor, IdempotencyTicket? ticket)
    {
        // A row read after the call came in is fresh enough for a refusal: the read after an unread lock that locked nothing is.
        long readsBefore = _readsStarted;
        if (ticket is null && !_loaded && _loading is null && await LockUnreadAsync(actor) is { } locked)
        {
            return locked;
        }

        return await LockReadAsync(actor, ticket, readsBefore);
    }

    private Task<Outcome<CouponView>> LockReadAsync(Actor actor, IdempotencyTicket? ticket, long readsBefore) =>
        OwnerChangeAsync(actor, ticket, activeBookOnly: true, readsBefore, (row, settings, now) =>
        {
            var state = row.StateAt(now);
            if (state != CouponState.Assigned)
            {
                return InvalidTransition(state, "be locked", "an ASSIGNED");
            }

            var next = row with { State = CouponState.Locked, LockedUntil = now.AddSeconds(settings.LockTtlSeconds) };
            return new Change(next, [.. Expiry(row, now), new HistoryEntry(now, CouponAction.Lock, CouponState.Assigned, CouponState.Locked, row.UserId, actor.UserId)]);
        });

    /// <remarks>Also outside the book's validity window: a reservation can always be given back.</remarks>
    public Task<Outcome<CouponView>> UnlockAsync(Actor actor, IdempotencyTicket? ticket) =>
        OwnerChangeAsync(actor, ticket, activeBookOnly: false, _readsStarted, (row, settings, now) =>
        {
            var state = row.StateAt(now);
            if (state != CouponState.Locked)
            {
                return InvalidTransition(state, "be unlocked", "a LOCKED");
            }

            var next = row with { State = CouponState.Assigned, LockedUntil = null };
            return new Change(next, [new HistoryEntry(now, CouponAction.Unlock, CouponState.Locked, CouponState.Assigned, row.UserId, actor.UserId)]);
        });

    public Task<Outcome<CouponView>> RedeemAsync(Actor actor, IdempotencyTicket? ticket) =>
        OwnerChangeAsync(actor, ticket, activeBookOnly: true, _readsStarted, (row, settings, now) =>
        {
            var state = row.StateAt(now);
            // ASSIGNED with a lock end kept is a run-out lock, by this clock or by the sweep's (PostgreSQL's, which may
            // run a little ahead): unlock and redeem clear the end.
            if (state == CouponState.Assigned && row.LockedUntil is { } ranOut)
            {
                return new Refusal(ErrorCode.LockExpired, $"The coupon's lock ran out at {ranOut:O}; lock it again to redeem it.");
            }

            if (state != CouponState.Locked)
            {
                return InvalidTransition(state, "be redeemed", "a LOCKED");
            }

            int count = row.RedemptionCount + 1;
            var to = count >= settings.MaxRedemptionsPerCoupon ? CouponState.Redeemed : CouponState.Assigned;
            var next = row with { State = to, LockedUntil = null, RedemptionCount = count, RedeemedAt = now };
            return new Change(next, [new HistoryEntry(now, CouponAction.Redeem, CouponState.Locked, to, row.UserId, actor.UserId)]);
        });

    /// <summary>
    /// A change by the owner or an admin (to anyone else the coupon does not exist; an admin acting on an UNASSIGNED
    /// coupon is told its state by <paramref name="decide"/>). <paramref name="readsBefore"/>: the reads started when the call came in.
    /// </summary>
    private Task<Outcome<CouponView>> OwnerChangeAsync(
        Actor actor, IdempotencyTicket? ticket, bool activeBookOnly, long readsBefore, Func<CouponRow, BookSettings, DateTimeOffset, Decision> decide) =>
        ChangeAsync(ticket, readsBefore, async (row, now) =>
        {
            if (!Visible(row, actor))
            {
                return NotFound();
            }

            var settings = await books.GetAsync(row!.BookId);
            if (settings is null)
            {
                return NotFound();
            }

            return !activeBookOnly || settings.IsActiveAt(now)
                ? decide(row, settings, now)
                : new Refusal(ErrorCode.BookNotActive, "The coupon's book is outside its validity window.");
        });

    private Task<Outcome<CouponView>> ChangeAsync(IdempotencyTicket? ticket, Func<CouponRow?, DateTimeOffset, Decision> decide) =>
        ChangeAsync(ticket, _readsStarted, (row, now) => ValueTask.FromResult(decide(row, now)));

    private async Task<Outcome<CouponView>> ChangeAsync(IdempotencyTicket? ticket, long readsBefore, Func<CouponRow?, DateTimeOffset, ValueTask<Decision>> decide)
    {
        for (int attempt = 1; ;)
        {
            await RowAsync();
            var tip = Tip;
            var now = Now();
            var decision = await decide(tip, now);
            if (!_loaded || !ReferenceEquals(tip, Tip))
            {
                // Other calls moved the state on while this one waited (for the book's settings): decide again.
                continue;
            }

            if (decision.Refusal is { } refusal)
            {
                // Refused on a state still being written: answer once it is durable, or decide again if it never is.
                var pending = _gathering ?? _writing;
                if (pending is null)
                {
                    if (MayBeBehind(readsBefore))
                    {
                        Reload();
                        continue;
                    }

                    return refusal;
                }

                if (await pending.Landing == Landing.Written)
                {
                    return refusal;
                }

                continue;
            }

            var change = decision.Change!;
            var outcome = Outcome<CouponView>.Success(change.Next.ViewAt(now));
            var key = ticket is null ? null : new IdempotencyRecord(ticket.CallerId, ticket.Key, ticket.Path, ticket.RequestHash,
                JsonSerializer.Serialize(outcome, JsonSerializerOptions.Web), ticket.TraceId);
            var group = _gathering ??= new Group();
            group.Add(change.Next, change.History, key);
            if (_writing is null)
            {
                _ = WriteAsync();
            }

            switch (await group.Landing)
            {
                case Landing.Written:
                    return outcome;
                case Landing.Failed:
                    throw group.Error!;
            }

            // The row moved on since it was read (or the write this change built on did not land): decide again.
            if (++attempt > MaxAttempts)
            {
                // Transient (the API answers 503 with Retry-After): something else keeps writing this coupon's row.
                throw new CouponBusyException($"Coupon {Code} kept changing under {MaxAttempts} attempts; nothing was changed.");
            }
        }
    }

    /// <summary>Writes the gathered changes, one write at a time, until no more gather; stops at the first that does not land.</summary>
    private async Task WriteAsync()
    {
        while (_gathering is { } group)
        {
            _gathering = null;
            _writing = group;
            var durable = _row!;
            var next = group.Next with { Version = durable.Version };
            Landing landing;
            try
            {
                landing = await writer.WriteAsync(new CouponWrite(next, durable.State, group.History, group.Keys)) ? Landing.Written : Landing.Moved;
            }
            catch (Exception ex)
            {
                group.Error = ex;
                landing = Landing.Failed;
            }

            _writing = null;
            if (landing == Landing.Written)
            {
                _row = next with { Version = next.Version + 1 };
                SiloMetrics.Written(group.History);
                group.Land(Landing.Written);
                if (_row.State == CouponState.Redeemed && _gathering is null)
                {
                    // Fully redeemed is final: nothing but reads can follow, and seldom. Leave memory now rather than
                    // after the idle age, so a busy silo does not carry (nor its GC copy) coupons it is done with;
                    // a later call activates it again from its row.
                    DeactivateOnIdle();
                }

                continue;
            }

            // Not written (or not known to be): the row is read again, and whatever was decided on this write is void.
            _loaded = false;
            group.Land(landing);
            if (_gathering is { } dependants)
            {
                _gathering = null;
                dependants.Land(Landing.Moved);
            }

            return;
        }
    }

    /// <summary>Now, to the microsecond: what PostgreSQL stores, so times read back compare equal to times written.</summary>
    private DateTimeOffset Now()
    {
        var now = clock.GetUtcNow();
        return now.AddTicks(-(now.Ticks % 10));
    }

    private ValueTask<CouponRow?> RowAsync() => _loaded ? ValueTask.FromResult(_row) : new ValueTask<CouponRow?>(_loading ??= ReadAsync());

    /// <summary>The durable row for a read: read again first when it may be behind the table (see the remarks above).</summary>
    private async ValueTask<CouponRow?> CurrentRowAsync()
    {
        long readsBefore = _readsStarted;
        var row = await RowAsync();
        while (MayBeBehind(readsBefore))
        {
            Reload();
            row = await RowAsync();
        }

        return row;
    }

    /// <summary>
    /// Whether the durable row is missing or UNASSIGNED (so bulk imports and distributions may have changed it), no
    /// write of this grain is pending, and it was not read since the call that asks came in (reads started before).
    /// </summary>
    private bool MayBeBehind(long readsBefore) =>
        _loaded && (_row is null || _row.State == CouponState.Unassigned) && _writing is null && _gathering is null && _rowRead <= readsBefore;

    /// <summary>Has the row read again by the next <see cref="RowAsync"/> (or joins the read under way).</summary>
    private void Reload()
    {
        if (_loading is null)
        {
            _loaded = false;
        }
    }

    /// <summary>
    /// The lock of a coupon this activation has not read yet (the common lock: the first call after a while) in one
    /// write: the statement decides what <see cref="LockReadAsync"/> would (see <see cref="CouponWriter.LockUnreadAsync"/>)
    /// and answers the locked row, which then stands for the read. Null when it locked nothing: the row is read and
    /// the lock decided as usual, which gives the refusal (or locks a coupon whose lock ran out, with its expiry).
    /// Calls that come meanwhile wait for the row as for a read. A keyed lock takes the usual way, whose write
    /// stores its key with the outcome it decided.
    /// </summary>
    private async Task<Outcome<CouponView>?> LockUnreadAsync(Actor actor)
    {
        var now = Now();
        bool locked = false;
        async Task<CouponRow?> LockThenReadAsync()
        {
            long read = ++_readsStarted;
            try
            {
                if (await writer.LockUnreadAsync(new UnreadLock(Code, now, actor.UserId, actor.IsAdmin)) is { } row)
                {
                    locked = true;
                    _row = row;
                    _rowRead = 0;
                    SiloMetrics.Written([new HistoryEntry(now, CouponAction.Lock, CouponState.Assigned, CouponState.Locked, row.UserId, actor.UserId)]);
                }
                else
                {
                    _row = await store.GetAsync(Code);
                    _rowRead = read;
                }

                _loaded = true;
                return _row;
            }
            finally
            {
                _loading = null;
            }
        }

        var loading = LockThenReadAsync();
        if (!loading.IsCompleted)
        {
            _loading = loading;
        }

        var current = await loading;
        return locked ? Outcome<CouponView>.Success(current!.ViewAt(now)) : null;
    }

    /// <summary>Reads the row once for every call that needs it meanwhile.</summary>
    private async Task<CouponRow?> ReadAsync()
    {
        long read = ++_readsStarted;
        try
        {
            _row = await store.GetAsync(Code);
            _rowRead = read;
            _loaded = true;
            return _row;
        }
        finally
        {
            _loading = null;
        }
    }

    /// <summary>Only the owner sees a coupon, and an admin any coupon; to anyone else it does not exist.</summary>
    private static bool Visible(CouponRow? row, Actor actor) => row is not null && (actor.IsAdmin || (row.UserId is { } owner && owner == actor.UserId));

    /// <summary>A run-out lock the sweep has not released yet: recorded with the next change, at the moment it ran out.</summary>
    private static HistoryEntry? PendingExpiry(CouponRow row, DateTimeOffset now) =>
        row.State == CouponState.Locked && row.LockedUntil is { } until && until <= now
            ? new HistoryEntry(until, CouponAction.Expire, CouponState.Locked, CouponState.Assigned, row.UserId, null)
            : null;

    private static HistoryEntry[] Expiry(CouponRow row, DateTimeOffset now) => PendingExpiry(row, now) is { } entry ? [entry] : [];

    private static Refusal InvalidTransition(CouponState state, string verb, string needed) =>
        new(ErrorCode.InvalidTransition, $"The coupon is {Name(state)}; only {needed} coupon can {verb}.");

    private static string Name(CouponState state) => state.ToString().ToUpperInvariant();

    private static Refusal NotFound() => new(ErrorCode.NotFound, "No such coupon.");

    private sealed record Change(CouponRow Next, IReadOnlyList<HistoryEntry> History);

    private readonly record struct Decision(Change? Change, Refusal? Refusal)
    {
        public static implicit operator Decision(Change change) => new(change, null);

        public static implicit operator Decision(Refusal refusal) => new(null, refusal);
    }

    private enum Landing
    {
        /// <summary>Committed.</summary>
        Written,

        /// <summary>Not written: the row had moved past the version read, or the write it built on did not land.</summary>
        Moved,

        /// <summary>The write failed; it may or may not have committed.</summary>
        Failed,
    }

    /// <summary>Changes written together: the row after the last of them, all their history rows and keys.</summary>
    private sealed class Group
    {
        private readonly TaskCompletionSource<Landing> _landed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CouponRow Next { get; private set; } = null!;

        public List<HistoryEntry> History { get; } = [];

        public List<IdempotencyRecord> Keys { get; } = [];

        public Exception? Error { get; set; }

        public Task<Landing> Landing => _landed.Task;

        public void Add(CouponRow next, IReadOnlyList<HistoryEntry> history, IdempotencyRecord? key)
        {
            Next = next;
            History.AddRange(history);
            if (key is not null)
            {
                Keys.Add(key);
            }
        }

        public void Land(Landing landing) => _landed.SetResult(landing);
    }
}
