using System.Security.Cryptography;
using System.Text;
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
        HttpContext http, IClusterClient cluster, CouponCommand command, int successStatus, Func<Task<Outcome<CouponView>>> direct)
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
            .ExecuteAsync(command, http.Request.Path.Value!.ToUpperInvariant(), await BodyHashAsync(http.Request), RequestTrace.CurrentId());
        ApiMetrics.CouponCommandAnswered(command.Kind, result.Outcome, result.Replayed);
        return Answer(http, result.Outcome, successStatus, result.TraceId);
    }

    /// <summary>1..255 characters and no control character (a NUL, for one, cannot be stored).</summary>
    public static bool IsValidKey(string? key) => key is { Length: >= 1 and <= MaxKeyLength } && !key.Any(char.IsControl);

    private static IResult Answer(HttpContext http, Outcome<CouponView> outcome, int successStatus, string? traceId)
    {
        if (outcome.Refusal is { } refusal && traceId is not null)
        {
            return Replayable(http, refusal, traceId);
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

    /// <summary>
    /// A keyed request's refusal with the trace id of the request that first got it, written as is, so a replay
    /// is byte for byte the first body.
    /// </summary>
    public static IResult Replayable(HttpContext http, Refusal refusal, string traceId)
    {
        var problem = ((ProblemHttpResult)http.Problem(refusal, traceId)).ProblemDetails;
        ProblemLog.Sent(http, problem);
        return TypedResults.Json(problem, (JsonSerializerOptions?)null, "application/problem+json", problem.Status);
    }

    /// <summary>
    /// The hash of the request's body as sent, in its canonical form (<see cref="CanonicalJson"/>): the same JSON value
    /// in another layout hashes the same, any other body (an extra member, no body against <c>{}</c>) does not. With
    /// <paramref name="also"/>, the hash covers it too (the parts of a request the caller compares besides its body).
    /// </summary>
    public static async Task<byte[]> BodyHashAsync(HttpRequest request, string? also = null)
    {
        // An endpoint that binds a body has read it by now: KeyedBodies kept it for this second reading.
        if (request.Body.CanSeek)
        {
            request.Body.Position = 0;
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, request.HttpContext.RequestAborted);
        byte[] hash = SHA256.HashData(CanonicalJson.Of(body.GetBuffer().AsMemory(0, (int)body.Length)));
        return also is null ? hash : SHA256.HashData([.. hash, .. Encoding.UTF8.GetBytes(also)]);
    }

    /// <summary>Marks an endpoint that takes an Idempotency-Key (the OpenAPI document lists the header on it).</summary>
    public static TBuilder WithIdempotencyKey<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(IdempotencyKeyMetadata.Instance);

    /// <summary>Marks an endpoint that takes an Idempotency-Key and binds a body, which <see cref="UseKeyedBodies"/> then keeps readable.</summary>
    public static TBuilder WithKeyedBody<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithIdempotencyKey().WithMetadata(KeyedBody.Instance);

    /// <summary>Buffers the body of a keyed request to a marked endpoint, so it can be hashed after the binder read it.</summary>
    public static IApplicationBuilder UseKeyedBodies(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (context.Request.Headers.ContainsKey(IdempotencyHeader) && context.GetEndpoint()?.Metadata.GetMetadata<KeyedBody>() is not null)
        {
            context.Request.EnableBuffering();
        }

        return next(context);
    });

    /// <summary>An endpoint's metadata: it takes an <c>Idempotency-Key</c> header.</summary>
    public sealed class IdempotencyKeyMetadata
    {
        public static readonly IdempotencyKeyMetadata Instance = new();
    }

    private sealed class KeyedBody
    {
        public static readonly KeyedBody Instance = new();
    }
}
