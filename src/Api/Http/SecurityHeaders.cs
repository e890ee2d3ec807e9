namespace CouponBooks.Api.Http;

/// <summary>Security headers on every response, errors included.</summary>
public static class SecurityHeaders
{
    /// <summary>JSON, CSV and plain-text answers load nothing and may be framed by no one.</summary>
    public const string ApiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>
    /// Pages (Swagger UI) load scripts, styles and images from this origin only. Swagger UI sets inline style attributes
    /// and draws its icons as data: images; it runs no inline script.
    /// </summary>
    public const string PageContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        + "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public const string HstsValue = "max-age=31536000";

    /// <summary>
    /// Adds the headers as the response starts, so answers written by the exception handler (which clears the headers
    /// set before it) carry them too. HSTS goes on HTTPS answers outside Development.
    /// </summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app, IHostEnvironment environment)
    {
        bool hsts = !environment.IsDevelopment();
        return app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var (context, hsts) = ((HttpContext, bool))state;
                var headers = context.Response.Headers;
                headers.XContentTypeOptions = "nosniff";
                headers.XFrameOptions = "DENY";
                headers["Referrer-Policy"] = "no-referrer";
                headers.ContentSecurityPolicy = IsPage(context.Request.Path) ? PageContentSecurityPolicy : ApiContentSecurityPolicy;
                if (hsts && context.Request.IsHttps)
                {
                    headers.StrictTransportSecurity = HstsValue;
                }

                return Task.CompletedTask;
            }, (context, hsts));
            return next(context);
        });
    }

    private static bool IsPage(PathString path) =>
        !path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase)
        && !path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase)
        && !path.StartsWithSegments("/metrics", StringComparison.OrdinalIgnoreCase);
}
