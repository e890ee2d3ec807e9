using System.Text.Json.Serialization;
using CouponBooks.Api.Audit;
using CouponBooks.Api.Auth;
using CouponBooks.Api.Books;
using CouponBooks.Api.Coupons;
using CouponBooks.Api.Hosting;
using CouponBooks.Api.Http;
using CouponBooks.Api.Jobs;
using CouponBooks.Api.Pools;
using CouponBooks.Api.Users;
using CouponBooks.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

var builder = WebApplication.CreateBuilder(args);

string connectionString = CouponBooksSiloExtensions.ConnectionString(builder.Configuration);

// Bodies are small everywhere but the CSV upload, which raises its own limit to 64 MiB.
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 1024 * 1024);
builder.Services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(o => o.MultipartBodyLengthLimit = BooksApi.MaxUploadBytes);
builder.Services.ConfigureHttpJsonOptions(o =>
{
    o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
    o.SerializerOptions.AllowTrailingCommas = false;
    // A number is a JSON number ("3" is the wrong type, as PATCH says too), and a member named twice is malformed.
    o.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
    o.SerializerOptions.AllowDuplicateProperties = false;
    // Also the answers of keyed replays: the Api writes them from the stored outcome, through these options.
    o.SerializerOptions.Converters.Add(new UtcTimestampConverter());
});
builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
// First, so that a silo hosted here (Orleans:CoHosted) starts before the hosted services below call grains.
builder.AddCluster(connectionString);
// A silo hosted here has registered both already; the Api then shares its data source.
builder.Services.TryAddSingleton(TimeProvider.System);
builder.Services.TryAddSingleton(_ => NpgsqlDataSource.Create(connectionString));
builder.Services.AddSingleton<UploadStaging>();
builder.Services.AddApiProblemDetails();
builder.Services.AddApiAuthentication(builder.Configuration, builder.Environment);
builder.Services.AddApiDocumentation();
builder.Services.AddApiHealthChecks();
builder.Services.AddApiHardening(builder.Configuration, builder.Environment);
builder.AddApiLogging();
builder.AddApiMetrics();

// Last, so that no later registration brings routing's own media type check back.
builder.Services.CheckMediaTypesAfterAuthorization();

var app = builder.Build();

app.UseSecurityHeaders(app.Environment);
app.UseDashboardFromThisMachineOnly();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseCors();
app.UseRequestBodyLimits();
app.UseClusterConnectionGate();
// Swagger UI's middleware only on its own paths, so other requests do not pass through it.
app.UseWhen(context => context.Request.Path.StartsWithSegments("/swagger", StringComparison.OrdinalIgnoreCase), swagger => swagger.UseSwaggerUI(ui =>
{
    ui.DocumentTitle = "CouponBooks API";
    ui.EnablePersistAuthorization();
}));
app.UseWebConsole();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();
app.UseKeyedBodies();

app.MapApiHealthChecks();
app.MapApiMetrics();
app.MapAuthApi();
app.MapUsersApi();
app.MapBooksApi();
app.MapJobsApi();
app.MapCouponsApi();
app.MapPoolsApi();
app.MapAuditApi();
// An endpoint, not middleware: the middleware resolves a document generator for every request, whatever its path.
app.MapSwagger().AllowAnonymous();
app.MapCoHostedDashboard();

app.Run();

/// <summary>The Api's entry point; public so tests can host it.</summary>
public partial class Program;
