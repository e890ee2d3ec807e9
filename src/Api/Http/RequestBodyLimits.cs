using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;

namespace CouponBooks.Api.Http;

/// <summary>
/// One body limit for every endpoint: 1 MiB, or what the endpoint declares (the CSV upload: 64 MiB). A declared
/// length over it is refused at once; a longer body fails with 413 when read, on any server.
/// </summary>
public static class RequestBodyLimits
{
    public const long DefaultMaxBytes = 1024 * 1024;

    public static IApplicationBuilder UseRequestBodyLimits(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var declared = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>();
        long limit = declared?.MaxRequestBodySize ?? DefaultMaxBytes;
        if (context.Request.ContentLength > limit)
        {
            await ApiProblems.Problem(ErrorCode.PayloadTooLarge, $"The body is over {Describe(limit)}.").ExecuteAsync(context);
            return;
        }

        var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false })
        {
            feature.MaxRequestBodySize = limit;
        }
        else if (feature is null)
        {
            // A server without the feature (the in-memory test server) enforces nothing itself.
            context.Request.Body = new BodySizeLimit(context.Request.Body, limit);
        }

        await next(context);
    });

    private static string Describe(long bytes) => bytes % (1024 * 1024) == 0 ? $"{bytes / (1024 * 1024)} MiB" : $"{bytes} bytes";
}
