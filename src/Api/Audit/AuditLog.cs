using System.Text.Json;
using CouponBooks.Api.Auth;
using CouponBooks.Api.Http;
using Npgsql;
using NpgsqlTypes;

namespace CouponBooks.Api.Audit;

/// <summary>The admin actions the audit log records, as the API names them.</summary>
public static class AuditActions
{
    public const string BookCreated = "book.created";
    public const string BookUpdated = "book.updated";
    public const string BookCodesGenerated = "book.codes-generated";
    public const string BookCodesUploaded = "book.codes-uploaded";
    public const string PoolCreated = "pool.created";
    public const string PoolDeleted = "pool.deleted";
    public const string PoolMembersAdded = "pool.members-added";
    public const string PoolMembersRemoved = "pool.members-removed";
    public const string PoolDistributionStarted = "pool.distribution-started";
    public const string UserUpdated = "user.updated";

    public static readonly IReadOnlyList<string> All =
    [
        BookCreated, BookUpdated, BookCodesGenerated, BookCodesUploaded, PoolCreated, PoolDeleted,
        PoolMembersAdded, PoolMembersRemoved, PoolDistributionStarted, UserUpdated,
    ];
}

/// <summary>What an audit entry is about.</summary>
public static class AuditTargets
{
    public const string Book = "book";
    public const string Pool = "pool";
    public const string User = "user";
}

/// <summary>One audit entry as stored.</summary>
public sealed record AuditRecord(Guid Id, DateTimeOffset At, Guid ActorId, string? ActorEmail, string Action, string TargetType, Guid TargetId, JsonElement Details);

/// <summary>
/// Writes and reads the audit log (table <c>audit_log</c>). The actions themselves are written by grains, each in its
/// own transaction that the Api cannot join, so an entry is written right after the grain acknowledged the change: an
/// entry never names a change that did not happen. A change whose entry could not be written stays done (answering
/// an error would invite a retry of work that succeeded); the entry then goes to the error log in full instead.
/// </summary>
public sealed class AuditLog(NpgsqlDataSource dataSource, ILogger<AuditLog> logger)
{
    /// <summary>The details as the Api writes JSON: timestamps in UTC with a Z.</summary>
    private static readonly JsonSerializerOptions DetailsJson = new(JsonSerializerOptions.Web) { Converters = { new UtcTimestampConverter() } };

    /// <summary>
    /// Records an action of the calling admin. <paramref name="id"/> names the entry when a retry may repeat the
    /// action (a distribution's job id), so the retry adds no second entry.
    /// </summary>
    public async Task RecordAsync(HttpContext http, string action, string targetType, Guid targetId, object details, Guid? id = null)
    {
        var actor = Caller.From(http.User).UserId;
        string json = JsonSerializer.Serialize(details, DetailsJson);
        var entryId = id ?? Guid.CreateVersion7();
        try
        {
            await using var command = dataSource.CreateCommand(
                """
                insert into audit_log (id, actor_id, actor_email, action, target_type, target_id, details)
                values ($1, $2, (select email from users where id = $2), $3, $4, $5, $6)
                on conflict (id) do nothing
                """);
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = entryId });
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = actor });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = action });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = targetType });
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = targetId });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = json, NpgsqlDbType = NpgsqlDbType.Jsonb });
            // Not the request's token: a caller that hangs up after the change must not take its entry with it.
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            logger.LogError(ex, "Audit entry not stored: {EntryId} {Action} by {ActorId} on {TargetType} {TargetId}: {Details}",
                entryId, action, actor, targetType, targetId, json);
        }
    }

    /// <summary>A page of entries, newest first, after the position of <paramref name="after"/>.</summary>
    public async Task<(List<AuditRecord> Items, (DateTimeOffset At, Guid Id)? Next)> ListAsync(
        string? action, Guid? actorId, (DateTimeOffset At, Guid Id)? after, int limit, CancellationToken cancellationToken)
    {
        var conditions = new List<string>();
        await using var command = dataSource.CreateCommand();
        if (action is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = action });
            conditions.Add($"action = ${command.Parameters.Count}");
        }

        if (actorId is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = actorId.Value });
            conditions.Add($"actor_id = ${command.Parameters.Count}");
        }

        if (after is { } position)
        {
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = position.At });
            command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = position.Id });
            conditions.Add($"(at, id) < (${command.Parameters.Count - 1}, ${command.Parameters.Count})");
        }

        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit + 1 });
        command.CommandText =
            $"""
            select id, at, actor_id, actor_email, action, target_type, target_id, details::text
            from audit_log
            {(conditions.Count == 0 ? "" : "where " + string.Join(" and ", conditions))}
            order by at desc, id desc
            limit ${command.Parameters.Count}
            """;

        var items = new List<AuditRecord>(Math.Min(limit + 1, 1001));
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                using var details = JsonDocument.Parse(reader.GetString(7));
                items.Add(new AuditRecord(
                    reader.GetGuid(0),
                    reader.GetFieldValue<DateTimeOffset>(1),
                    reader.GetGuid(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.GetString(4),
                    reader.GetString(5),
                    reader.GetGuid(6),
                    details.RootElement.Clone()));
            }
        }

        if (items.Count <= limit)
        {
            return (items, null);
        }

        items.RemoveAt(limit);
        var last = items[^1];
        return (items, (last.At, last.Id));
    }
}
