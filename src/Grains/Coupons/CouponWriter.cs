using System.Diagnostics;
using System.Threading.Channels;
using CouponBooks.Hosting;
using CouponBooks.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace CouponBooks.Coupons;

/// <summary>Settings of the coupon write path (configuration section <c>CouponWrites</c>).</summary>
public sealed class CouponWriterOptions
{
    public const string Section = "CouponWrites";

    /// <summary>
    /// Batches written at the same time, each on its own connection. Two: at moderate load each batch then gathers
    /// more changes, so PostgreSQL commits (and the silo sends) fewer, larger ones; at 5,200 requests/s of lock and
    /// redeem, PostgreSQL's CPU went from 0.58 to 0.48-0.52 cores and the lock p99 from 24-28 to 13-16 ms against four.
    /// </summary>
    public int Writers { get; set; } = 2;

    /// <summary>Most changes in one batch (one statement, one commit).</summary>
    public int MaxBatch { get; set; } = 512;
}

/// <summary>
/// The silo's write path for coupon changes. Grains hand in a change and wait; whatever has gathered while the
/// previous batch committed goes out as one prepared statement: conditional row updates (each on the version its
/// grain read), their history rows (numbered in the order given, the order their grain decided them), their
/// idempotency keys and their stats deltas, all or nothing, one round trip and one commit. Each change learns whether
/// it applied, or that its row had moved on (the grain reads it again). Locks of coupons not read yet ride in the same
/// statement, decided there (<see cref="LockUnreadAsync"/>), so a first lock costs one round trip instead of a read and a write.
/// </summary>
public sealed class CouponWriter(NpgsqlDataSource dataSource, IOptions<CouponWriterOptions> options, ILogger<CouponWriter> logger)
    : IHostedService
{
    private const string Statement =
        """
        with input as (
            select * from unnest($1::text[], $2::smallint[], $3::uuid[], $4::timestamptz[], $5::timestamptz[], $6::int[], $7::timestamptz[],
                                 $8::int[], $9::uuid[], $10::smallint[])
                as t(code, state, user_id, assigned_at, locked_until, redemption_count, redeemed_at, expected_version, book_id, from_state)
        ),
        updated as (
            update coupons c
            set state = i.state, user_id = i.user_id, assigned_at = i.assigned_at, locked_until = i.locked_until,
                redemption_count = i.redemption_count, redeemed_at = i.redeemed_at, version = c.version + 1
            from input i
            where c.code = i.code and c.version = i.expected_version
            returning c.code, i.book_id, i.from_state, i.state
        ),
        history as (
            insert into coupon_history (code, at, action, from_state, to_state, user_id, actor_id)
            select h.code, h.at, h.action, h.from_state, h.to_state, h.user_id, h.actor_id
            from unnest($11::text[], $12::timestamptz[], $13::smallint[], $14::smallint[], $15::smallint[], $16::uuid[], $17::uuid[])
                with ordinality as h(code, at, action, from_state, to_state, user_id, actor_id, n)
            where h.code in (select code from updated)
            order by h.n
        ),
        keys as (
            -- A live key stands; one 24 hours old gives way (the maintenance sweep would delete it soon).
            insert into idempotency_keys as stored (caller_id, key, path, request_hash, outcome, trace_id)
            select distinct on (k.caller_id, k.key) k.caller_id, k.key, k.path, k.request_hash, k.outcome::jsonb, k.trace_id
            from unnest($18::uuid[], $19::text[], $20::text[], $21::bytea[], $22::text[], $23::text[], $24::text[])
                as k(caller_id, key, path, request_hash, outcome, trace_id, code)
            where k.code is null or k.code in (select code from updated)
            on conflict (caller_id, key) do update
                set path = excluded.path, request_hash = excluded.request_hash, outcome = excluded.outcome,
                    trace_id = excluded.trace_id, created_at = now()
                where stored.created_at <= now() - interval '24 hours'
        ),
        unread as (
            select * from unnest($25::text[], $26::timestamptz[], $27::uuid[], $28::boolean[]) as t(code, at, actor_id, admin)
        ),
        lockable as (
            -- Each coupon's book by its key, per coupon (offset 0 keeps the planner from scanning books once per batch).
            select u.code, u.at, u.actor_id, b.lock_ttl_seconds
            from unread u
            join coupons c on c.code = u.code
            cross join lateral (select * from books where id = c.book_id offset 0) b
            where c.state = 1 and (u.admin or c.user_id = u.actor_id)
              and (b.valid_from is null or b.valid_from <= u.at) and (b.valid_until is null or u.at <= b.valid_until)
        ),
        locked as (
            update coupons c
            set state = 2, locked_until = l.at + l.lock_ttl_seconds * interval '1 second', version = c.version + 1
            from lockable l
            where c.code = l.code and c.state = 1
            returning c.code, c.book_id, c.state, c.user_id, c.assigned_at, c.locked_until, c.redemption_count, c.redeemed_at, c.version,
                      l.at, l.actor_id
        ),
        locked_history as (
            insert into coupon_history (code, at, action, from_state, to_state, user_id, actor_id)
            select code, at, 1, 1, 2, user_id, actor_id from locked
        ),
        deltas as (
            insert into book_stats_deltas (book_id, unassigned, assigned, locked, redeemed)
            select book_id,
                   sum((state = 0)::int - (from_state = 0)::int), sum((state = 1)::int - (from_state = 1)::int),
                   sum((state = 2)::int - (from_state = 2)::int), sum((state = 3)::int - (from_state = 3)::int)
            from (select book_id, from_state, state from updated
                  union all select book_id, 1::smallint, 2::smallint from locked) as changed
            group by book_id
        )
        select code, null::uuid, null::smallint, null::uuid, null::timestamptz, null::timestamptz, null::int, null::timestamptz, null::int from updated
        union all
        select code, book_id, state, user_id, assigned_at, locked_until, redemption_count, redeemed_at, version from locked
        """;

    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = false });
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _writers = [];

    /// <summary>Writes a change; true when it applied, false when its row had moved past the version read.</summary>
    public Task<bool> WriteAsync(CouponWrite write) => Enqueue(new Pending(write, null));

    /// <summary>Stores an idempotency key that changed nothing (a refusal).</summary>
    public Task RecordAsync(IdempotencyRecord key) => Enqueue(new Pending(null, key));

    /// <summary>
    /// Locks a coupon its grain has not read, deciding in the statement what the grain would: an ASSIGNED coupon of
    /// the actor (any coupon for an admin) whose book is inside its validity window, for the book's lock TTL from
    /// <see cref="UnreadLock.At"/>, with its history row and stats delta. Answers the row as locked, or null when
    /// nothing was locked (the grain then reads the row and decides as usual, which says why).
    /// </summary>
    public async Task<CouponRow?> LockUnreadAsync(UnreadLock request)
    {
        var pending = new Pending(null, null, request);
        await Enqueue(pending);
        return pending.Locked;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        for (int i = 0; i < Math.Max(1, options.Value.Writers); i++)
        {
            _writers.Add(Task.Run(() => WriteLoopAsync(_stopping.Token), CancellationToken.None));
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _pending.Writer.TryComplete();
        await Task.WhenAll(_writers).WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        await _stopping.CancelAsync();
    }

    private Task<bool> Enqueue(Pending pending)
    {
        if (!_pending.Writer.TryWrite(pending))
        {
            pending.Done.TrySetException(new InvalidOperationException("The coupon writer is stopped."));
        }

        return pending.Done.Task;
    }

    private async Task WriteLoopAsync(CancellationToken stopping)
    {
        int maxBatch = Math.Max(1, options.Value.MaxBatch);
        var batch = new List<Pending>(maxBatch);
        await using var statement = new DedicatedStatement(dataSource, CreateCommand);
        try
        {
            while (await _pending.Reader.WaitToReadAsync(stopping))
            {
                batch.Clear();
                while (batch.Count < maxBatch && _pending.Reader.TryRead(out var next))
                {
                    batch.Add(next);
                }

                if (batch.Count == 0)
                {
                    continue;
                }

                long started = Stopwatch.GetTimestamp();
                try
                {
                    var (applied, locked) = await ExecuteAsync(await statement.GetAsync(stopping), batch, stopping);
                    // Counted before any writer hears back, so whatever its answer causes comes after the count.
                    SiloMetrics.BatchWritten(batch.Count, Conflicts(batch, applied), Stopwatch.GetElapsedTime(started));
                    foreach (var pending in batch)
                    {
                        if (pending.Lock is { } request)
                        {
                            pending.Locked = locked.GetValueOrDefault(request.Code);
                        }

                        pending.Done.TrySetResult(pending.Write is null || applied.Contains(pending.Write.Next.Code));
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stopping.IsCancellationRequested)
                {
                    SiloMetrics.BatchFailed(batch.Count, Stopwatch.GetElapsedTime(started));
                    logger.LogWarning(ex, "Writing a batch of {Count} coupon changes failed", batch.Count);
                    foreach (var pending in batch)
                    {
                        pending.Done.TrySetException(ex);
                    }

                    await statement.DiscardAsync();
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var pending in batch)
            {
                pending.Done.TrySetCanceled(CancellationToken.None);
            }
        }
    }

    /// <summary>Writes of the batch whose row had moved past the version read.</summary>
    private static int Conflicts(List<Pending> batch, HashSet<string> applied)
    {
        int count = 0;
        foreach (var pending in batch)
        {
            count += pending.Write is { } write && !applied.Contains(write.Next.Code) ? 1 : 0;
        }

        return count;
    }

    private static NpgsqlCommand CreateCommand(NpgsqlConnection connection)
    {
        var command = new NpgsqlCommand(Statement, connection);
        NpgsqlDbType[] types =
        [
            NpgsqlDbType.Text, NpgsqlDbType.Smallint, NpgsqlDbType.Uuid, NpgsqlDbType.TimestampTz, NpgsqlDbType.TimestampTz, NpgsqlDbType.Integer,
            NpgsqlDbType.TimestampTz, NpgsqlDbType.Integer, NpgsqlDbType.Uuid, NpgsqlDbType.Smallint,
            NpgsqlDbType.Text, NpgsqlDbType.TimestampTz, NpgsqlDbType.Smallint, NpgsqlDbType.Smallint, NpgsqlDbType.Smallint, NpgsqlDbType.Uuid, NpgsqlDbType.Uuid,
            NpgsqlDbType.Uuid, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Bytea, NpgsqlDbType.Text, NpgsqlDbType.Text, NpgsqlDbType.Text,
            NpgsqlDbType.Text, NpgsqlDbType.TimestampTz, NpgsqlDbType.Uuid, NpgsqlDbType.Boolean,
        ];
        foreach (var type in types)
        {
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | type });
        }

        return command;
    }

    private static async Task<(HashSet<string> Applied, Dictionary<string, CouponRow> Locked)> ExecuteAsync(
        NpgsqlCommand command, List<Pending> batch, CancellationToken cancellationToken)
    {
        var writes = batch.Where(p => p.Write is not null).Select(p => p.Write!).ToList();
        var unread = batch.Where(p => p.Lock is not null).Select(p => p.Lock!).ToList();
        var rows = writes.Select(w => w.Next).ToList();
        var history = writes.SelectMany(w => w.History.Select(h => (w.Next.Code, Entry: h))).ToList();
        var keys = batch.SelectMany(p => p.Write is { } write
                ? write.Keys.Select(key => (Record: key, Code: (string?)write.Next.Code))
                : p.Key is { } key ? [(Record: key, Code: (string?)null)] : [])
            .ToList();

        var p = command.Parameters;
        p[0].Value = rows.Select(r => r.Code).ToArray();
        p[1].Value = rows.Select(r => (short)r.State).ToArray();
        p[2].Value = rows.Select(r => r.UserId).ToArray();
        p[3].Value = rows.Select(r => r.AssignedAt).ToArray();
        p[4].Value = rows.Select(r => r.LockedUntil).ToArray();
        p[5].Value = rows.Select(r => r.RedemptionCount).ToArray();
        p[6].Value = rows.Select(r => r.RedeemedAt).ToArray();
        p[7].Value = rows.Select(r => r.Version).ToArray();
        p[8].Value = rows.Select(r => r.BookId).ToArray();
        p[9].Value = writes.Select(w => (short)w.FromState).ToArray();
        p[10].Value = history.Select(h => h.Code).ToArray();
        p[11].Value = history.Select(h => h.Entry.At).ToArray();
        p[12].Value = history.Select(h => (short)h.Entry.Action).ToArray();
        p[13].Value = history.Select(h => (short)h.Entry.FromState).ToArray();
        p[14].Value = history.Select(h => (short)h.Entry.ToState).ToArray();
        p[15].Value = history.Select(h => h.Entry.UserId).ToArray();
        p[16].Value = history.Select(h => h.Entry.ActorId).ToArray();
        p[17].Value = keys.Select(k => k.Record.CallerId).ToArray();
        p[18].Value = keys.Select(k => k.Record.Key).ToArray();
        p[19].Value = keys.Select(k => k.Record.Path).ToArray();
        p[20].Value = keys.Select(k => k.Record.RequestHash).ToArray();
        p[21].Value = keys.Select(k => k.Record.OutcomeJson).ToArray();
        p[22].Value = keys.Select(k => k.Record.TraceId).ToArray();
        p[23].Value = keys.Select(k => k.Code).ToArray();
        p[24].Value = unread.Select(u => u.Code).ToArray();
        p[25].Value = unread.Select(u => u.At).ToArray();
        p[26].Value = unread.Select(u => u.ActorId).ToArray();
        p[27].Value = unread.Select(u => u.ActorIsAdmin).ToArray();

        var applied = new HashSet<string>(StringComparer.Ordinal);
        var locked = new Dictionary<string, CouponRow>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // A versioned write answers its code alone; an unread lock its whole row (the columns of a read).
            if (reader.IsDBNull(1))
            {
                applied.Add(reader.GetString(0));
                continue;
            }

            var row = CouponStore.ReadRow(reader);
            locked[row.Code] = row;
        }

        return (applied, locked);
    }

    private sealed record Pending(CouponWrite? Write, IdempotencyRecord? Key, UnreadLock? Lock = null)
    {
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>For <see cref="Lock"/>: the row as locked, or null when it was not.</summary>
        public CouponRow? Locked { get; set; }
    }
}
