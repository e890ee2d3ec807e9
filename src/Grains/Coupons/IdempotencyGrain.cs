using System.Text.Json;
using CouponBooks.Books;
using Npgsql;

namespace CouponBooks.Coupons;

/// <summary>
/// One caller's Idempotency-Key. Calls through it are serialized, so concurrent repeats wait for the first; the
/// first outcome is stored with the change it made (by the coupon's write) or on its own (a refusal changes
/// nothing), and read back from the database when the key's activation is new.
/// </summary>
[CollectionAgeLimit(Minutes = 2)]
internal sealed class IdempotencyGrain(NpgsqlDataSource dataSource, CouponWriter writer) : Grain, IIdempotencyGrain
{
    private Stored? _first;
    private bool _loaded;

    public async Task<IdempotentOutcome> ExecuteAsync(CouponCommand command, string path, byte[] requestHash, string? traceId)
    {
        string id = this.GetPrimaryKeyString();
        int slash = id.IndexOf('/');
        var callerId = Guid.Parse(id.AsSpan(0, slash));
        string key = id[(slash + 1)..];

        if (!_loaded)
        {
            _first = await LoadAsync(callerId, key);
            _loaded = true;
        }

        if (_first is { } first)
        {
            return first.Path == path && first.RequestHash.AsSpan().SequenceEqual(requestHash)
                ? new IdempotentOutcome(first.Outcome, first.TraceId, Replayed: true)
                : new IdempotentOutcome(new Refusal(ErrorCode.IdempotencyKeyReused, "This Idempotency-Key was used for another request."), traceId, Replayed: false);
        }

        var ticket = new IdempotencyTicket(callerId, key, path, requestHash, traceId);
        Outcome<CouponView> outcome;
        try
        {
            outcome = await RunAsync(command, ticket);
            if (outcome.IsRefused)
            {
                await writer.RecordAsync(new IdempotencyRecord(callerId, key, path, requestHash, JsonSerializer.Serialize(outcome, JsonSerializerOptions.Web), traceId));
            }
        }
        catch
        {
            // A write that failed may still have committed, and this key with it: the next repeat reads the key again
            // rather than run the command a second time.
            _loaded = false;
            throw;
        }

        _first = new Stored(path, requestHash, outcome, traceId);
        return new IdempotentOutcome(outcome, traceId, Replayed: false);
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

    private async Task<Stored?> LoadAsync(Guid callerId, string key)
    {
        await using var select = dataSource.CreateCommand(
            "select path, request_hash, outcome::text, trace_id from idempotency_keys where caller_id = $1 and key = $2 and created_at > now() - interval '24 hours'");
        select.Parameters.AddWithValue(callerId);
        select.Parameters.AddWithValue(key);
        await using var reader = await select.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return null;
        }

        var outcome = JsonSerializer.Deserialize<Outcome<CouponView>>(reader.GetString(2), JsonSerializerOptions.Web)!;
        return new Stored(reader.GetString(0), reader.GetFieldValue<byte[]>(1), outcome, reader.IsDBNull(3) ? null : reader.GetString(3));
    }

    private sealed record Stored(string Path, byte[] RequestHash, Outcome<CouponView> Outcome, string? TraceId);
}
