using System.Net;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace CouponBooks.Api.Hosting;

/// <summary>Where the built web console is (configuration section <c>Console</c>).</summary>
public sealed class WebConsoleOptions
{
    public const string Section = "Console";

    /// <summary>
    /// Folder holding the console's built files (index.html and assets/); a relative path is taken from the content root.
    /// When unset: <c>console</c> beside the Api (the published image), else the repository's <c>web/dist</c>.
    /// </summary>
    public string? Root { get; set; }
}

/// <summary>
/// Serves the web console (a single-page app built from web/) at /console/, with a fallback to its index.html for the
/// app's own paths. Only /console/... is served from the folder, so /api, /swagger, /health and /metrics are never shadowed.
/// </summary>
internal static class WebConsoleSetup
{
    public const string BasePath = "/console";
    private const string HashedAssets = "/assets/";

    public static WebApplication UseWebConsole(this WebApplication app)
    {
        app.MapGet("/", () => Results.Redirect($"{BasePath}/")).ExcludeFromDescription();
        // "/console" without its slash would give the app the wrong base; routing alone cannot tell the two apart.
        app.Use((context, next) =>
        {
            if (context.Request.Path.Value == BasePath && (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
            {
                context.Response.Redirect($"{BasePath}/{context.Request.QueryString}");
                return Task.CompletedTask;
            }

            return next(context);
        });

        var candidates = Candidates(app.Configuration.GetSection(WebConsoleOptions.Section).Get<WebConsoleOptions>(), app.Environment.ContentRootPath);
        string? root = candidates.FirstOrDefault(dir => File.Exists(Path.Combine(dir, "index.html")));
        if (root is null)
        {
            app.Logger.LogWarning("The web console is not built (no index.html in {Folders}); {BasePath}/ answers 404 with a note.", string.Join(", ", candidates), BasePath);
            app.MapMethods($"{BasePath}/{{**path}}", [HttpMethods.Get, HttpMethods.Head], () => Results.Content(NotBuiltPage(candidates), "text/html; charset=utf-8", statusCode: StatusCodes.Status404NotFound))
                .ExcludeFromDescription();
            return app;
        }

        var files = new PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files, RequestPath = BasePath });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files, RequestPath = BasePath, OnPrepareResponse = SetCaching });
        // Deep links such as /console/admin/books/{id} get the app, which routes them itself; paths with a file extension do not.
        app.MapFallbackToFile($"{BasePath}/{{**path:nonfile}}", "index.html", new StaticFileOptions { FileProvider = files, OnPrepareResponse = SetCaching })
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]));
        return app;
    }

    private static List<string> Candidates(WebConsoleOptions? options, string contentRoot)
    {
        if (!string.IsNullOrWhiteSpace(options?.Root))
        {
            return [Path.GetFullPath(options.Root, contentRoot)];
        }

        return [Path.GetFullPath("console", contentRoot), Path.GetFullPath(Path.Combine("..", "..", "web", "dist"), contentRoot)];
    }

    // Vite names the files under assets/ by their content hash, so they never change; index.html must be checked each time.
    private static void SetCaching(StaticFileResponseContext context)
    {
        var path = context.Context.Request.Path;
        context.Context.Response.Headers[HeaderNames.CacheControl] =
            path.StartsWithSegments($"{BasePath}{HashedAssets.TrimEnd('/')}", StringComparison.Ordinal)
                ? "public, max-age=31536000, immutable"
                : "no-cache";
    }

    private static string NotBuiltPage(IEnumerable<string> folders) => $"""
        <!doctype html>
        <html lang="en">
        <head><meta charset="utf-8"><title>CouponBooks console is not built</title></head>
        <body>
        <h1>The web console is not built</h1>
        <p>The API runs, but it found no built console in {string.Join(" or ", folders.Select(f => $"<code>{WebUtility.HtmlEncode(f)}</code>"))}.</p>
        <p>Build it with <code>web/build.sh</code> (Node.js 20 and npm; <code>./run.sh</code> and <code>./test.sh</code> do this),
        or point <code>Console__Root</code> at a folder holding the built files.</p>
        <p>The REST API is documented at <a href="/swagger">/swagger</a>.</p>
        </body>
        </html>
        """;
}
