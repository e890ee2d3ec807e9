using System.Net;
using CouponBooks.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace CouponBooks.Tests.WebConsole;

/// <summary>The Api serves the built console at /console/ with a fallback for the app's own paths, and nothing else moves.</summary>
[Collection(ApiCollection.Name)]
public sealed class WebConsoleHostingTests(ApiFixture api) : IDisposable
{
    private const string IndexMarker = "<div id=\"app\"></div><!-- console index -->";
    private readonly string _built = Directory.CreateTempSubdirectory("couponbooks-console-").FullName;

    [Fact]
    public async Task The_console_and_its_deep_links_get_index_html_and_assets_are_served_with_long_caching()
    {
        await using var factory = FactoryWithConsoleAt(WriteBuild());
        using var client = NoRedirects(factory);

        foreach (string path in new[] { "/console/", "/console/login", "/console/admin/books/0198f0c2-0000-7000-8000-000000000000" })
        {
            var page = await client.GetAsync(path);
            Assert.True(page.StatusCode == HttpStatusCode.OK, $"{path} answered {(int)page.StatusCode}");
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Contains(IndexMarker, await page.Content.ReadAsStringAsync());
            Assert.Equal("no-cache", page.Headers.CacheControl?.ToString());
        }

        var script = await client.GetAsync("/console/assets/index-abc123.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Equal("console.log('app')", await script.Content.ReadAsStringAsync());
        Assert.Equal("public, max-age=31536000, immutable", script.Headers.CacheControl?.ToString());

        // A missing file is a 404, not the app: a stale page asking for an old asset must not get HTML.
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/console/assets/index-gone.js")).StatusCode);
    }

    [Fact]
    public async Task The_root_and_the_bare_console_path_lead_to_the_console()
    {
        await using var factory = FactoryWithConsoleAt(WriteBuild());
        using var client = NoRedirects(factory);

        foreach (string path in new[] { "/", "/console" })
        {
            var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal("/console/", response.Headers.Location?.OriginalString);
        }
    }

    [Fact]
    public async Task The_console_fallback_never_shadows_the_api_swagger_or_health()
    {
        await using var factory = FactoryWithConsoleAt(WriteBuild());
        using var client = NoRedirects(factory);
        await WaitForClusterAsync(client);

        await ApiCalls.AssertProblemAsync(await client.GetAsync("/api/v1/no-such-route"), HttpStatusCode.NotFound, "not-found");
        await ApiCalls.AssertProblemAsync(await client.GetAsync("/api/v1/books"), HttpStatusCode.Unauthorized, "unauthorized");
        await ApiCalls.AssertProblemAsync(await client.GetAsync("/api/v1/audit-of-nothing/console"), HttpStatusCode.NotFound, "not-found");
        var health = await client.GetAsync("/health/live");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("application/json", health.Content.Headers.ContentType?.MediaType);
        var swagger = await client.GetAsync("/swagger/v1/swagger.json");
        Assert.Equal(HttpStatusCode.OK, swagger.StatusCode);
        Assert.DoesNotContain("/console", await swagger.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/consoles/anything")).StatusCode);
    }

    [Fact]
    public async Task Only_get_and_head_reach_the_console()
    {
        await using var factory = FactoryWithConsoleAt(WriteBuild());
        using var client = NoRedirects(factory);

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/console/coupons"))).StatusCode);
        await ApiCalls.AssertProblemAsync(await client.PostAsync("/console/coupons", new StringContent("x")), HttpStatusCode.MethodNotAllowed, "method-not-allowed");
    }

    [Fact]
    public async Task Without_a_build_the_api_still_runs_and_the_console_path_explains_how_to_build_it()
    {
        string missing = Path.Combine(_built, "not-built");
        await using var factory = FactoryWithConsoleAt(missing);
        using var client = NoRedirects(factory);

        var note = await client.GetAsync("/console/admin/books");
        Assert.Equal(HttpStatusCode.NotFound, note.StatusCode);
        Assert.Equal("text/html", note.Content.Headers.ContentType?.MediaType);
        string text = await note.Content.ReadAsStringAsync();
        Assert.Contains("The web console is not built", text);
        Assert.Contains(missing, text);
        Assert.DoesNotContain("<script", text);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        await WaitForClusterAsync(client);
        await ApiCalls.AssertProblemAsync(await client.GetAsync("/api/v1/no-such-route"), HttpStatusCode.NotFound, "not-found");
    }

    public void Dispose() => Directory.Delete(_built, recursive: true);

    private string WriteBuild()
    {
        string root = Path.Combine(_built, "dist");
        Directory.CreateDirectory(Path.Combine(root, "assets"));
        File.WriteAllText(Path.Combine(root, "index.html"), $"<!doctype html><html><head><script type=\"module\" src=\"/console/assets/index-abc123.js\"></script></head><body>{IndexMarker}</body></html>");
        File.WriteAllText(Path.Combine(root, "assets", "index-abc123.js"), "console.log('app')");
        return root;
    }

    private ApiFixture.ApiFactory FactoryWithConsoleAt(string root)
    {
        var settings = ApiFixture.ApiSettings(api.ConnectionString, api.ClusterId);
        settings["Console:Root"] = root;
        return new ApiFixture.ApiFactory(settings);
    }

    /// <summary>Each factory is a new Api process that connects to the silo in the background; /api answers 503 until then.</summary>
    private static async Task WaitForClusterAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await client.GetAsync("/health/ready")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "The Api did not connect to the test silo within 30 s.");
            await Task.Delay(100);
        }
    }

    private static HttpClient NoRedirects(WebApplicationFactory<Program> factory) =>
        factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
}
