using System.Text.Json;
using CouponBooks.Books;
using CouponBooks.Pools;
using Npgsql;

namespace CouponBooks.Coupons;

/// <summary>
/// One caller's Idempotency-Key. Calls through it are serialized, so concurrent repeats wait for the first; the
/// first outcome is stored with the change it made (by the coupon's write) or on its own (a refusal changes
/// nothing), and read back from the database when the key's activation is new. Coupon commands and pool
/// distributions share the caller's keys: a key used for one is refused for the other.
/// </summary>
[CollectionAgeLimit(Minutes = 2)]
internal sealed class IdempotencyGrain(NpgsqlDataSource dataSource, CouponWriter writer, TimeProvider clock) : Grain, IIdempotencyGrain
{
    private static readonly TimeSpan KeptFor = TimeSpan.FromHours(24);

    /// <summary>
    /// How long after a first run that timed out the key is not run again while nothing is stored: its change may still be
    /// on its way to the database (a write waits at most its batch's command timeout, 30 s, behind at most one other).
    /// </summary>
    private static readonly TimeSpan Settling = TimeSpan.FromMinutes(2);

    private Stored? _first;
    private bool _loaded;
    private DateTimeOffset _unsettledUntil;

    public async Task<IdempotentOutcome> ExecuteAsync(CouponCommand command, string path, byte[] requestHash, string? traceId)
    {
        var (callerId, key) = Id();
        await LoadAsync(callerId, key);

        if (_first is { } first)
        {
            return first.Answers(path, requestHash)
                ? new IdempotentOutcome(first.As<Outcome<CouponView>>(), first.TraceId, Replayed: true)
                : new IdempotentOutcome(Reused(), traceId, Replayed: false);
        }

        if (clock.GetUtcNow() < _unsettledUntil)
        {
            // The first run timed out and its change may still commit with this key: running the command again now could
            // make a second change (another coupon). The repeat is answered 503 until the key is stored or the time is up;
            // the next repeat reads the key again.
            _loaded = false;
            return new IdempotentOutcome(
                new Refusal(ErrorCode.ServiceUnavailable, "The first request with this key may still be completing; send it again shortly.", _unsettledUntil - clock.GetUtcNow()),
                traceId, Replayed: false);
        }

        var ticket = new IdempotencyTicket(callerId, key, path, requestHash, traceId);
        Outcome<CouponView> outcome;
        try
        {
            outcome = await RunAsync(command, ticket);
            if (outcome.IsRefused)
            {
                await writer.RecordAsync(new IdempotencyRecord(callerId, key, path, requestHash, Json(outcome), traceId));
            }
        }
        catch (Exception ex)
        {
            // A write that failed may still have committed, and this key with it: the next repeat reads the key again
            // rather than run the command a second time; after a timeout the change may not even have reached the
            // database yet, so the key waits for it (Settling).
            _loaded = false;
            if (ex is TimeoutException)
            {
                // Kept in memory for the whole window, so an idle collection does not forget it.
                _unsettledUntil = clock.GetUtcNow() + Settling;
                DelayDeactivation(Settling);
            }

            throw;
        }

        _first = new Stored(path, requestHash, Json(outcome), traceId, clock.GetUtcNow()) { Settled = true };
        return new IdempotentOutcome(outcome, traceId, Replayed: false);
    }

    /// <remarks>
    /// A distribution's change is its job, stored by Orleans' grain storage, not in this database transaction: so the
    /// key is stored first, naming the job it is about to start, and answered only once that start has given its
    /// answer (the job, or a refusal that replaces the stored job). A key read back that names a job not known to
    /// have started (the silo stopped in between) starts that same job now, or stores the refusal instead; starting
    /// a job that exists answers it, so nothing runs twice.
    /// </remarks>
    public async Task<IdempotentDistribution> DistributeAsync(Guid poolId, DistributionSpec spec, Guid actorId, string path, byte[] requestHash, string? traceId)
    {
        var (callerId, key) = Id();
        await LoadAsync(callerId, key);

        if (_first is { } first && !first.Answers(path, requestHash))
        {
            return new IdempotentDistribution(Reused(), traceId);
        }

        if (_first is { Settled: true } settled)
        {
            return new IdempotentDistribution(settled.As<Outcome<DistributionStart>>(), settled.TraceId);
        }

        try
        {
            var stored = _first;
            if (stored is null)
            {
                var intended = Outcome<DistributionStart>.Success(new DistributionStart(Guid.CreateVersion7(), null));
                stored = await ClaimAsync(callerId, key, path, requestHash, Json(intended), traceId);
                if (stored is null)
                {
                    // Another activation of this key (a silo that failed moments ago) stored it first: answer as it did.
                    _loaded = false;
                    return await DistributeAsync(poolId, spec, actorId, path, requestHash, traceId);
                }
            }

            var outcome = stored.As<Outcome<DistributionStart>>();
            if (outcome.Value?.JobId is { } jobId)
            {
                // Starts the job, or finds it started (a repeat with the same job id and request only answers it).
                outcome = await GrainFactory.GetGrain<IPoolGrain>(poolId).DistributeAsync(spec, dryRun: false, jobId, requestHash, actorId);
                if (outcome.IsRefused)
                {
                    await SettleAsync(callerId, key, stored.CreatedAt, Json(outcome));
                }
            }

            _first = new Stored(path, requestHash, Json(outcome), stored.TraceId, stored.CreatedAt) { Settled = true };
            return new IdempotentDistribution(outcome, stored.TraceId);
        }
        catch
        {
            _loaded = false;
            throw;
        }
    }

    private Task<Outcome<CouponView>> RunAsync(CouponCommand command, IdempotencyTicket ticket) => command.Kind switch
    {
        CouponCommandKind.AssignRandom => GrainFactory.GetGrain<IBookGrain>(command.BookId!.Value).AssignRandomAsync(command.UserId!.Value, command.Actor.UserId, ticket),
        CouponCommandKind.AssignCode => GrainFactory.GetGrain<IBookGrain>(command.BookId!.Value).AssignCodeAsync(command.Code!, command.UserId!.Value, command.Actor.UserId, ticket),
        CouponCommandKind.Lock => GrainFactory.GetGrain<ICouponGrain>(command.Code!).LockAsync(command.Actor, ticket),
        CouponCommandKind.Unlock => GrainFactory.GetGrain<ICouponGrain>(command.Code!).UnlockAsync(command.Actor, ticket),
        CouponCommandKind.Redeem => GrainFactory.GetGrain<ICouponGrain>(command.Code!).RedeemAsync(command.Actor, ticket),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command.Kind, null),
    };

    private (Guid CallerId, string Key) Id()
    {
        string id = this.GetPrimaryKeyString();
        int slash = id.IndexOf('/');
        return (Guid.Parse(id.AsSpan(0, slash)), id[(slash + 1)..]);
    }

    private static Refusal Reused() => new(ErrorCode.IdempotencyKeyReused, "This Idempotency-Key was used for another request.");

    private static string Json<T>(Outcome<T> outcome) => JsonSerializer.Serialize(outcome, JsonSerializerOptions.Web);

    /// <summary>Reads the key's first outcome unless this activation knows it, and forgets one 24 hours old.</summary>
    private async Task LoadAsync(Guid callerId, string key)
    {
        if (_first is { } first && first.CreatedAt <= clock.GetUtcNow() - KeptFor)
        {
            _first = null;
            _loaded = false;
        }

        if (!_loaded)
        {
            _first = await ReadAsync(callerId, key);
            _loaded = true;
        }
    }

    /// <summary>The key's first outcome, unless it is 24 hours old (the maintenance sweep deletes it soon after).</summary>
    private async Task<Stored?> ReadAsync(Guid callerId, string key)
    {
        await using var select = dataSource.CreateCommand(
            "select path, request_hash, outcome::text, trace_id, created_at from idempotency_keys where caller_id = $1 and key = $2 and created_at > now() - interval '24 hours'");
        select.Parameters.AddWithValue(callerId);
        select.Parameters.AddWithValue(key);
        await using var reader = await select.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new Stored(reader.GetString(0), reader.GetFieldValue<byte[]>(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4))
            : null;
    }

    /// <summary>Stores the key with its outcome unless a live one is stored (one that is 24 hours old gives way); null when one is.</summary>
    private async Task<Stored?> ClaimAsync(Guid callerId, string key, string path, byte[] requestHash, string outcome, string? traceId)
    {
        await using var insert = dataSource.CreateCommand(
            """
            insert into idempotency_keys as k (caller_id, key, path, request_hash, outcome, trace_id)
            values ($1, $2, $3, $4, $5::jsonb, $6)
            on conflict (caller_id, key) do update
                set path = excluded.path, request_hash = excluded.request_hash, outcome = excluded.outcome,
                    trace_id = excluded.trace_id, created_at = now()
                where k.created_at <= now() - interval '24 hours'
            returning created_at
            """);
        insert.Parameters.AddWithValue(callerId);
        insert.Parameters.AddWithValue(key);
        insert.Parameters.AddWithValue(path);
        insert.Parameters.AddWithValue(requestHash);
        insert.Parameters.AddWithValue(outcome);
        insert.Parameters.AddWithValue(NpgsqlTypes.NpgsqlDbType.Text, (object?)traceId ?? DBNull.Value);
        return await insert.ExecuteScalarAsync() is DateTimeOffset createdAt ? new Stored(path, requestHash, outcome, traceId, createdAt) : null;
    }

    /// <summary>Replaces the outcome stored with the key at <paramref name="createdAt"/> (its first answer was not given yet).</summary>
    private async Task SettleAsync(Guid callerId, string key, DateTimeOffset createdAt, string outcome)
    {
        await using var update = dataSource.CreateCommand(
            "update idempotency_keys set outcome = $4::jsonb where caller_id = $1 and key = $2 and created_at = $3");
        update.Parameters.AddWithValue(callerId);
        update.Parameters.AddWithValue(key);
        update.Parameters.AddWithValue(createdAt);
        update.Parameters.AddWithValue(outcome);
        await update.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// A key's first outcome as stored (JSON: a coupon's or a distribution's, told apart by the path); settled once its
    /// answer was given, or could have been.
    /// </summary>
    private sealed record Stored(string Path, byte[] RequestHash, string OutcomeJson, string? TraceId, DateTimeOffset CreatedAt)
    {
        public bool Settled { get; init; }

        /// <summary>Whether a request with this path and body hash is the first one again.</summary>
        public bool Answers(string path, byte[] requestHash) => Path == path && RequestHash.AsSpan().SequenceEqual(requestHash);

        public T As<T>() => JsonSerializer.Deserialize<T>(OutcomeJson, JsonSerializerOptions.Web)!;
    }
}
