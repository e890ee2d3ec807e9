using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Nodes;
using CouponBooks.Api.Audit;
using CouponBooks.Api.Auth;
using CouponBooks.Api.Coupons;
using CouponBooks.Api.Http;
using CouponBooks.Api.Jobs;
using CouponBooks.Books;
using CouponBooks.Coupons;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Npgsql;

namespace CouponBooks.Api.Books;

/// <summary>Books, their codes (generation, CSV upload), their coupons and the CSV export.</summary>
public static class BooksApi
{
    public const long MaxUploadBytes = 64L * 1024 * 1024;
    public const int MaxGenerateCount = 1_000_000;
    private const string BookCursor = "books";
    private const string CouponCursor = "coupons";

    /// <summary>The members a book's merge patch may set (BookInput.Patch reads these and ignores any other).</summary>
    private static readonly string[] PatchMembers =
        ["name", "description", "maxAssignmentsPerUser", "maxTotalAssignments", "maxRedemptionsPerCoupon", "lockTtlSeconds", "validFrom", "validUntil"];

    public static IEndpointRouteBuilder MapBooksApi(this IEndpointRouteBuilder app)
    {
        var books = app.MapGroup("/api/v1/books").WithTags("Books").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        var admin = books.MapGroup("").RequireAuthorization(AuthSetup.AdminPolicy)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        admin.MapPost("/", CreateAsync)
            .WithSummary("Create a book.")
            .WithDescription("Only `name` is required. `maxAssignmentsPerUser` and `maxTotalAssignments` are at least 1 or null (no limit); `maxRedemptionsPerCoupon` 1..1000 (default 1); `lockTtlSeconds` 5..86400 (default 300); `validFrom` must not be after `validUntil` (both optional; a window wholly in the past is allowed). Errors: 400 `validation-failed`.")
            .ProducesProblem(StatusCodes.Status400BadRequest);

        books.MapGet("/", ListAsync)
            .WithSummary("List books, each with its stats.")
            .WithDescription("Paged by `limit` (1..1000, default 50) and `cursor`. Errors: 400 `validation-failed`.")
            .ProducesProblem(StatusCodes.Status400BadRequest);

        books.MapGet("/{id:guid}", GetAsync)
            .WithSummary("One book with its stats (counts of its coupons by current state).")
            .ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapPatch("/{id:guid}", PatchAsync)
            .WithSummary("Change a book's name, description, limits, validity window or lock TTL (JSON merge patch).")
            .WithDescription("Members left out stay as they are; a limit sent as null becomes \"no limit\", `validFrom`/`validUntil` null open the window, `maxRedemptionsPerCoupon`/`lockTtlSeconds` null go back to their defaults. Lowering a limit below what is already given out is allowed: it simply stops further assignment. Errors: 400 `validation-failed`, 404 `not-found`.")
            .Accepts<BookPatchRequest>("application/json", "application/merge-patch+json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapPost("/{id:guid}/codes/generate", GenerateAsync)
            .WithSummary("Generate new unique codes from a pattern, as a job.")
            .WithDescription("`#` a digit, `?` a letter, `*` a digit or letter, anything else (A-Z 0-9 - _) itself; lower case is upper-cased. The pattern needs a placeholder and gives codes of 3..64 characters; `count` is 1..1,000,000. Codes are unique across all books. The request is refused when `count` plus the stored codes matching the pattern would pass half of the pattern's space. Answers 202 with the job; its result is `{generated}`; all or nothing. Errors: 400 `validation-failed`, 400 `pattern-capacity-exceeded`, 404 `not-found`.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapPost("/{id:guid}/codes/upload", UploadAsync)
            .WithSummary("Upload codes as CSV: a `text/csv` body or the multipart field `file`.")
            .WithDescription("One code per line; an optional first line `code`; UTF-8 with or without BOM; blank lines skipped; spaces trimmed; lower case upper-cased. By default all or nothing: 400 `invalid-codes` (invalid lines or a code repeated in the file) or 409 `codes-exist`, each with `offenders: [{line, value, reason}]` (at most 100). `?skipInvalid=true` stores the good codes and lists the skipped lines. Up to 10,000 lines answer 200 `{accepted, skipped, skippedCount}` listing every skipped line; larger files answer 202 with a job whose result has the same shape (its first 10,000 skipped lines listed, `skippedCount` counting all). Bodies over 64 MiB are 413 `payload-too-large`; other media types 415 `unsupported-media-type`.")
            .Accepts<IFormFile>("text/csv", "multipart/form-data")
            .WithMetadata(new RequestSizeLimitAttribute(MaxUploadBytes))
            .Produces<UploadResponse>(StatusCodes.Status200OK)
            .Produces<JobAccepted>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .DisableAntiforgery();

        admin.MapGet("/{id:guid}/coupons", ListCouponsAsync)
            .WithSummary("A book's coupons in code order, optionally by `state` and `userId`.")
            .WithDescription("`state` is UNASSIGNED, ASSIGNED, LOCKED or REDEEMED (a run-out lock counts as ASSIGNED). Paged by `limit` and `cursor`. Errors: 400 `validation-failed`, 404 `not-found`.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapGet("/{id:guid}/coupons/export", ExportAsync)
            .WithSummary("All of a book's coupons as CSV, streamed: `code,state,userId,assignedAt,redemptionCount`.")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return app;
    }

    private static async Task<Results<Created<BookResponse>, ProblemHttpResult>> CreateAsync(CreateBookRequest request, IClusterClient cluster, AuditLog audit, HttpContext http)
    {
        var errors = new FieldErrors();
        var settings = BookInput.Create(request, errors);
        if (settings is null)
        {
            return errors.ToProblem();
        }

        var outcome = await cluster.GetGrain<IBookGrain>(Guid.CreateVersion7()).CreateAsync(settings);
        if (outcome.Refusal is { } refusal)
        {
            return http.Problem(refusal);
        }

        var book = BookResponse.From(outcome.Value!);
        await audit.RecordAsync(http, AuditActions.BookCreated, AuditTargets.Book, book.Id, new
        {
            book.Name, book.Description, book.MaxAssignmentsPerUser, book.MaxTotalAssignments, book.MaxRedemptionsPerCoupon,
            book.LockTtlSeconds, book.ValidFrom, book.ValidUntil,
        });
        return TypedResults.Created($"/api/v1/books/{book.Id}", book);
    }

    private static async Task<Results<Ok<Page<BookResponse>>, ProblemHttpResult>> ListAsync(IClusterClient cluster, int? limit, string? cursor)
    {
        var errors = new FieldErrors();
        int size = Paging.Limit(limit, errors);
        Guid? after = Paging.GuidCursor(cursor, BookCursor, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var page = await cluster.GetGrain<IBookDirectoryGrain>(0).ListAsync(after, size);
        return TypedResults.Ok(Paging.ToPage(page.Items, page.Next, BookCursor, BookResponse.From));
    }

    private static async Task<Results<Ok<BookResponse>, ProblemHttpResult>> GetAsync(Guid id, IClusterClient cluster)
    {
        var book = await cluster.GetGrain<IBookGrain>(id).GetAsync();
        return book is null ? NoSuchBook() : TypedResults.Ok(BookResponse.From(book));
    }

    private static async Task<Results<Ok<BookResponse>, ProblemHttpResult>> PatchAsync(Guid id, [FromBody] JsonElement json, IClusterClient cluster, AuditLog audit, HttpContext http)
    {
        if (JsonBodies.ReadObject(json, out var body) is { } unreadable)
        {
            return unreadable;
        }

        var errors = new FieldErrors();
        var patch = BookInput.Patch(body, errors);
        if (patch is null)
        {
            return errors.ToProblem();
        }

        var outcome = await cluster.GetGrain<IBookGrain>(id).PatchAsync(patch);
        if (outcome.Refusal is { } refusal)
        {
            return http.Problem(refusal);
        }

        // The members the patch set, as sent (members the contract does not know are ignored, here as by the book).
        var changed = new JsonObject();
        foreach (string member in PatchMembers)
        {
            if (body.TryGetPropertyValue(member, out var value))
            {
                changed[member] = value?.DeepClone();
            }
        }

        // Timestamps as the Api writes them (UTC, with a Z), whatever offset the patch gave.
        if (patch.ValidFrom is { IsSet: true, Value: { } from })
        {
            changed["validFrom"] = from.UtcDateTime;
        }

        if (patch.ValidUntil is { IsSet: true, Value: { } until })
        {
            changed["validUntil"] = until.UtcDateTime;
        }

        if (changed.Count > 0)
        {
            await audit.RecordAsync(http, AuditActions.BookUpdated, AuditTargets.Book, id, changed);
        }

        return TypedResults.Ok(BookResponse.From(outcome.Value!));
    }

    private static async Task<Results<Accepted<JobAccepted>, ProblemHttpResult>> GenerateAsync(
        Guid id, GenerateCodesRequest request, IClusterClient cluster, AuditLog audit, HttpContext http)
    {
        var errors = new FieldErrors();
        errors.Check(!string.IsNullOrEmpty(request.Pattern), "pattern", "A pattern is required.");
        errors.Check(request.Count is >= 1 and <= MaxGenerateCount, "count", $"count is 1..{MaxGenerateCount:N0}.");
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var outcome = await cluster.GetGrain<IBookGrain>(id).GenerateCodesAsync(request.Pattern!, request.Count!.Value);
        if (outcome.Refusal is { } refusal)
        {
            return http.Problem(refusal);
        }

        await audit.RecordAsync(http, AuditActions.BookCodesGenerated, AuditTargets.Book, id, new { jobId = outcome.Value, request.Pattern, request.Count });
        return TypedResults.Accepted(JobsApi.Location(outcome.Value), new JobAccepted(outcome.Value));
    }

    private static async Task<IResult> UploadAsync(Guid id, bool? skipInvalid, IClusterClient cluster, UploadStaging staging, AuditLog audit, HttpContext http)
    {
        var book = cluster.GetGrain<IBookGrain>(id);
        if (await book.GetAsync() is null)
        {
            return NoSuchBook();
        }

        var request = http.Request;
        if (request.ContentLength > MaxUploadBytes)
        {
            return ApiProblems.Problem(ErrorCode.PayloadTooLarge, $"The body is over {MaxUploadBytes / (1024 * 1024)} MiB.");
        }

        Stream body;
        if (IsMultipart(request.ContentType))
        {
            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(http.RequestAborted);
            }
            catch (InvalidDataException tooLarge) when (tooLarge.Message.Contains("body length limit", StringComparison.OrdinalIgnoreCase))
            {
                return ApiProblems.Problem(ErrorCode.PayloadTooLarge, $"The body is over {MaxUploadBytes / (1024 * 1024)} MiB.");
            }
            catch (Exception malformed) when (malformed is InvalidDataException or IOException && !http.RequestAborted.IsCancellationRequested)
            {
                // No boundary, or a body that is not the multipart its Content-Type announces.
                return ApiProblems.ValidationFailed("file", $"The multipart body cannot be read: {malformed.Message}");
            }

            if (form.Files.GetFile("file") is not { } file)
            {
                return ApiProblems.ValidationFailed("file", "The multipart body needs a field named file.");
            }

            body = file.OpenReadStream();
        }
        else if (IsCsv(request.ContentType))
        {
            // Kestrel enforces the endpoint's limit too; this also holds on servers that cannot (the test server).
            body = new BodySizeLimit(request.Body, MaxUploadBytes);
        }
        else
        {
            return ApiProblems.Problem(ErrorCode.UnsupportedMediaType, "Send the codes as a text/csv body or as the multipart/form-data field file.");
        }

        var uploadId = Guid.CreateVersion7();
        int lines;
        await using (body)
        {
            lines = await staging.StageAsync(uploadId, body, http.RequestAborted);
        }

        var outcome = await book.ImportCodesAsync(uploadId, skipInvalid ?? false, lines);
        if (outcome.JobId is { } jobId)
        {
            await audit.RecordAsync(http, AuditActions.BookCodesUploaded, AuditTargets.Book, id, new { jobId, lines, skipInvalid = skipInvalid ?? false });
            return TypedResults.Accepted(JobsApi.Location(jobId), new JobAccepted(jobId));
        }

        if (outcome.Refusal is { } refusal)
        {
            var problem = ApiProblems.Details(refusal.Code, refusal.Detail);
            problem.Extensions["offenders"] = (outcome.Offenders ?? []).Select(o => new CodeIssueResponse(o.Line, o.Value, o.Reason)).ToList();
            return TypedResults.Problem(problem);
        }

        var report = UploadResponse.From(outcome.Report!);
        await audit.RecordAsync(http, AuditActions.BookCodesUploaded, AuditTargets.Book, id,
            new { jobId = (Guid?)null, lines, skipInvalid = skipInvalid ?? false, report.Accepted, skipped = report.SkippedCount });
        return TypedResults.Ok(report);
    }

    private static async Task<Results<Ok<Page<CouponResponse>>, ProblemHttpResult>> ListCouponsAsync(
        Guid id, IClusterClient cluster, [AllowedValues("UNASSIGNED", "ASSIGNED", "LOCKED", "REDEEMED")] string? state, Guid? userId, int? limit, string? cursor)
    {
        var errors = new FieldErrors();
        int size = Paging.Limit(limit, errors);
        errors.Check(CouponResponse.TryParseState(state, out var wanted), "state", "state is UNASSIGNED, ASSIGNED, LOCKED or REDEEMED.");
        string? after = Paging.CodeCursor(cursor, CouponCursor, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        if (await cluster.GetGrain<IBookGrain>(id).GetAsync() is null)
        {
            return NoSuchBook();
        }

        var page = await cluster.GetGrain<ICouponDirectoryGrain>(0).ListAsync(new CouponQuery(id, userId, wanted, after, size));
        return TypedResults.Ok(Paging.ToPage(page.Items, page.NextCode, CouponCursor, CouponResponse.From));
    }

    private static async Task<IResult> ExportAsync(Guid id, IClusterClient cluster, NpgsqlDataSource dataSource, HttpContext http)
    {
        if (await cluster.GetGrain<IBookGrain>(id).GetAsync() is null)
        {
            return NoSuchBook();
        }

        return new CouponExport(dataSource, id);
    }

    /// <summary>Only multipart carries the field <c>file</c>; a URL-encoded form (also a "form" to ASP.NET Core) is another media type.</summary>
    private static bool IsMultipart(string? contentType) =>
        contentType is not null && contentType.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase);

    /// <summary>The endpoint's Accepts metadata already turns away other media types (415) before the handler runs.</summary>
    private static bool IsCsv(string? contentType) =>
        contentType is not null && contentType.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase);

    private static ProblemHttpResult NoSuchBook() => ApiProblems.Problem(ErrorCode.NotFound, "No such book.");
}
