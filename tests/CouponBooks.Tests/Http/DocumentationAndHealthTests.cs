using System.Net;
using System.Text.Json;
using CouponBooks.Tests.Infrastructure;

namespace CouponBooks.Tests.Http;

[Collection(ApiCollection.Name)]
public sealed class DocumentationAndHealthTests(ApiFixture api)
{
    [Fact]
    public async Task Swagger_ui_is_served_with_a_bearer_authorize_scheme()
    {
        using var client = api.CreateClient();
        var ui = await client.GetAsync("/swagger/index.html");
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        Assert.Contains("swagger-ui", await ui.Content.ReadAsStringAsync());

        var document = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json")).RootElement;
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer");
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());

        var paths = document.GetProperty("paths");
        var me = paths.GetProperty("/api/v1/users/me").GetProperty("get");
        Assert.True(me.TryGetProperty("security", out _));
        Assert.True(me.GetProperty("responses").TryGetProperty("401", out _));
        var login = paths.GetProperty("/api/v1/auth/login").GetProperty("post");
        Assert.False(login.TryGetProperty("security", out _));
        foreach (string status in new[] { "200", "400", "401", "403", "429" })
        {
            Assert.True(login.GetProperty("responses").TryGetProperty(status, out _), $"login documents {status}");
        }
    }

    [Fact]
    public async Task Swagger_root_leads_to_the_ui()
    {
        using var client = api.Factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = true });
        var response = await client.GetAsync("/swagger");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("swagger-ui", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Live_and_ready_answer_200_when_database_and_cluster_are_up()
    {
        using var client = api.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);

        var ready = await client.GetAsync("/health/ready");
        var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("orleans").GetProperty("status").GetString());
    }
}
