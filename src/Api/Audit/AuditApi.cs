using System.Globalization;
using System.Text.Json;
using CouponBooks.Api.Auth;
using CouponBooks.Api.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CouponBooks.Api.Audit;

/// <summary>One entry of the audit log: who (<c>actorId</c>, <c>actorEmail</c>) did <c>action</c> to what (<c>targetType</c>, <c>targetId</c>) and when.</summary>
public sealed record AuditEntryResponse(
    Guid Id, DateTimeOffset At, Guid ActorId, string? ActorEmail, string Action, string TargetType, Guid TargetId, JsonElement Details)
{
    public static AuditEntryResponse From(AuditRecord r) => new(r.Id, r.At, r.ActorId, r.ActorEmail, r.Action, r.TargetType, r.TargetId, r.Details);
}

/// <summary>The audit log of admin actions, newest first (admin).</summary>
public static class AuditApi
{
    private const string CursorKind = "audit";

    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/audit", ListAsync)
            .WithTags("Audit")
            .RequireAuthorization(AuthSetup.AdminPolicy)
            .WithSummary("The audit log of admin actions, newest first.")
            .WithDescription(
                "Answers `{ items: [{ id, at, actorId, actorEmail, action, targetType, targetId, details }], nextCursor }`. "
                + "`action` is one of `book.created`, `book.updated`, `book.codes-generated`, `book.codes-uploaded`, `pool.created`, `pool.deleted`, "
                + "`pool.members-added`, `pool.members-removed`, `pool.distribution-started`, `user.updated`; `targetType` is `book`, `pool` or `user`; "
                + "`details` is a JSON object with the action's fields (the patch, the counts, the job id). `actorEmail` is the actor's email at the time (null for a token of no stored user). "
                + "Filters: `action` (one of the values above) and `actorId`. Paged by `limit` (1..1000, default 50) and the opaque `cursor` of the previous page. "
                + "Errors: 400 `validation-failed` (unknown action, malformed actorId, limit out of range, bad cursor), 401 `unauthorized`, 403 `forbidden`.")
            .Produces<Page<AuditEntryResponse>>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        return app;
    }

    private static async Task<Results<Ok<Page<AuditEntryResponse>>, ProblemHttpResult>> ListAsync(
        AuditLog audit, HttpContext http, string? action, Guid? actorId, int? limit, string? cursor)
    {
        var errors = new FieldErrors();
        int size = Paging.Limit(limit, errors);
        errors.Check(action is null || AuditActions.All.Contains(action, StringComparer.Ordinal), "action", $"action is one of {string.Join(", ", AuditActions.All)}.");
        var after = DecodeCursor(cursor, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var (items, next) = await audit.ListAsync(action, actorId, after, size, http.RequestAborted);
        return TypedResults.Ok(new Page<AuditEntryResponse>(
            items.Select(AuditEntryResponse.From).ToList(),
            next is { } n ? Paging.EncodeCursor(CursorKind, $"{n.At.UtcTicks.ToString(CultureInfo.InvariantCulture)}_{n.Id:N}") : null));
    }

    private static (DateTimeOffset At, Guid Id)? DecodeCursor(string? cursor, FieldErrors errors)
    {
        if (!Paging.TryDecodeCursor(cursor, CursorKind, out string? position))
        {
            errors.Add("cursor", "The cursor cannot be decoded.");
            return null;
        }

        if (position is null)
        {
            return null;
        }

        string[] parts = position.Split('_');
        if (parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long ticks)
            && ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks
            && parts[1].Length == 32 && Guid.TryParseExact(parts[1], "N", out var id))
        {
            return (new DateTimeOffset(ticks, TimeSpan.Zero), id);
        }

        errors.Add("cursor", "The cursor cannot be decoded.");
        return null;
    }
}
