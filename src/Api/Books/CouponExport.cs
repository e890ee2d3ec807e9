using Npgsql;

namespace CouponBooks.Api.Books;

/// <summary>Streams a book's coupons as CSV straight from PostgreSQL's COPY to the response, in constant memory.</summary>
internal sealed class CouponExport(NpgsqlDataSource dataSource, Guid bookId) : IResult
{
    public async Task ExecuteAsync(HttpContext context)
    {
        // COPY takes no parameters; the book id is a parsed Guid, so formatting it in is safe.
        string copy =
            $"""
            copy (select code,
                         case when state = 2 and locked_until <= now() then 'ASSIGNED'
                              else (array['UNASSIGNED', 'ASSIGNED', 'LOCKED', 'REDEEMED'])[state + 1] end as state,
                         user_id as "userId",
                         to_char(assigned_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "assignedAt",
                         redemption_count as "redemptionCount"
                  from coupons where book_id = '{bookId:D}' order by code)
            to stdout with (format csv, header)
            """;
        await using var connection = await dataSource.OpenConnectionAsync(context.RequestAborted);
        using var source = await connection.BeginTextExportAsync(copy, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/csv; charset=utf-8";
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"book-{bookId:D}-coupons.csv\"";
        var buffer = new char[32 * 1024];
        await using var writer = new StreamWriter(context.Response.Body, new System.Text.UTF8Encoding(false), buffer.Length);
        int read;
        while ((read = await source.ReadAsync(buffer, context.RequestAborted)) > 0)
        {
            await writer.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
        }
    }
}
