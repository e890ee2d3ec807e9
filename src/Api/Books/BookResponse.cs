using System.ComponentModel.DataAnnotations;
using CouponBooks.Books;

namespace CouponBooks.Api.Books;

public sealed record StatsResponse(long Total, long Unassigned, long Assigned, long Locked, long Redeemed);

/// <summary>A book as the REST contract shows it, always with its stats.</summary>
public sealed record BookResponse(
    Guid Id,
    string Name,
    string? Description,
    int? MaxAssignmentsPerUser,
    int? MaxTotalAssignments,
    int MaxRedemptionsPerCoupon,
    int LockTtlSeconds,
    DateTimeOffset? ValidFrom,
    DateTimeOffset? ValidUntil,
    DateTimeOffset CreatedAt,
    StatsResponse Stats)
{
    public static BookResponse From(BookView book)
    {
        var s = book.Settings;
        var stats = book.Stats;
        return new BookResponse(book.Id, s.Name, s.Description, s.MaxAssignmentsPerUser, s.MaxTotalAssignments, s.MaxRedemptionsPerCoupon,
            s.LockTtlSeconds, s.ValidFrom, s.ValidUntil, book.CreatedAt,
            new StatsResponse(stats.Total, stats.Unassigned, stats.Assigned, stats.Locked, stats.Redeemed));
    }
}

/// <summary>The body of POST /books; only the name is required.</summary>
public sealed record CreateBookRequest(
    [property: Required] string? Name,
    string? Description,
    int? MaxAssignmentsPerUser,
    int? MaxTotalAssignments,
    int? MaxRedemptionsPerCoupon,
    int? LockTtlSeconds,
    DateTimeOffset? ValidFrom,
    DateTimeOffset? ValidUntil);

/// <summary>The body of PATCH /books/{id}, for the OpenAPI document (the endpoint reads the merge patch as JSON): every member optional, null clears it.</summary>
public sealed record BookPatchRequest(
    string? Name,
    string? Description,
    int? MaxAssignmentsPerUser,
    int? MaxTotalAssignments,
    int? MaxRedemptionsPerCoupon,
    int? LockTtlSeconds,
    DateTimeOffset? ValidFrom,
    DateTimeOffset? ValidUntil);

/// <summary>The body of POST /books/{id}/codes/generate.</summary>
public sealed record GenerateCodesRequest([property: Required] string? Pattern, [property: Required] int? Count);

/// <summary>Answer of every request that started a job.</summary>
public sealed record JobAccepted(Guid JobId);

public sealed record CodeIssueResponse(int Line, string Value, string Reason);

/// <summary>Answer of an upload stored at once: <c>accepted</c> codes, every skipped line, and <c>skippedCount</c>.</summary>
public sealed record UploadResponse(long Accepted, IReadOnlyList<CodeIssueResponse> Skipped, long SkippedCount)
{
    public static UploadResponse From(ImportReport report) =>
        new(report.Accepted, report.Skipped.Select(i => new CodeIssueResponse(i.Line, i.Value, i.Reason)).ToList(), report.SkippedCount);
}
