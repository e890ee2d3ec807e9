using System.Security.Cryptography;
using System.Text.Json;
using CouponBooks.Api.Auth;
using CouponBooks.Api.Hosting;
using CouponBooks.Api.Http;
using CouponBooks.Coupons;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CouponBooks.Api.Coupons;

/// <summary>
/// Runs a coupon command, through its caller's Idempotency-Key when the request has one: a repeat of the same
/// request answers the first status and body; the same key for another path or body is 422.
/// </summary>
public static class CouponCommands
{
    public const string IdempotencyHeader = "Idempotency-Key";
    public const int MaxKeyLength = 255;

    public static async Task<IResult> RunAsync(
        HttpContext http, IClusterClient cluster, CouponCommand command, object? body, int successStatus, Func<Task<Outcome<CouponView>>> direct)
    {
        var headers = http.Request.Headers[IdempotencyHeader];
        if (headers.Count == 0)
        {
            var outcome = await direct();
            ApiMetrics.CouponCommandAnswered(command.Kind, outcome, replayed: false);
            return Answer(http, outcome, successStatus, traceId: null);
        }

        string? key = headers.Count == 1 ? headers[0] : null;
        if (!IsValidKey(key))
        {
            return ApiProblems.ValidationFailed(IdempotencyHeader, $"Send one {IdempotencyHeader} of 1..{MaxKeyLength} characters, none of them a control character.");
        }

        var caller = Caller.From(http.User);
        var result = await cluster.GetGrain<IIdempotencyGrain>($"{caller.UserId:N}/{key}")
            .ExecuteAsync(command, http.Request.Path.Value!.ToUpperInvariant(), Hash(body), RequestTrace.CurrentId());
        ApiMetrics.CouponCommandAnswered(command.Kind, result.Outcome, result.Replayed);
        return Answer(http, result.Outcome, successStatus, result.TraceId);
    }

    /// <summary>1..255 characters and no control character (a NUL, for one, cannot be stored).</summary>
    public static bool IsValidKey(string? key) => key is { Length: >= 1 and <= MaxKeyLength } && !key.Any(char.IsControl);

    private static IResult Answer(HttpContext http, Outcome<CouponView> outcome, int successStatus, string? traceId)
    {
        if (outcome.Refusal is { } refusal && traceId is not null)
        {
            // Written as is, so a replay carries the first request's trace id, byte for byte the first body.
            var problem = ((ProblemHttpResult)http.Problem(refusal, traceId)).ProblemDetails;
            ProblemLog.Sent(http, problem);
            return TypedResults.Json(problem, (JsonSerializerOptions?)null, "application/problem+json", problem.Status);
        }

        if (outcome.Refusal is { } unkeyed)
        {
            return http.Problem(unkeyed);
        }

        var coupon = CouponResponse.From(outcome.Value!);
        return successStatus == StatusCodes.Status201Created
            ? TypedResults.Created($"/api/v1/coupons/{coupon.Code}", coupon)
            : TypedResults.Ok(coupon);
    }

    /// <summary>The request's JSON value, hashed: the same values in another layout hash the same.</summary>
    private static byte[] Hash(object? body) => SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(body, JsonSerializerOptions.Web));
}
