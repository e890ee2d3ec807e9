using System.Text;
using CouponBooks.Reference;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

// The reference service of `bench/run.sh coupons`: GET /api/v1/coupons/{code} and POST .../lock, /unlock, /redeem written
// the plain way, one SQL statement per request against the schema of sql/, to compare CouponBooks with.
var builder = WebApplication.CreateBuilder(args);

string connectionString = builder.Configuration.GetConnectionString("Postgres")
    ?? throw new InvalidOperationException("ConnectionStrings__Postgres is not set: name the CouponBooks database.");

// The same token checks as src/Api (Auth/AuthSetup.cs) with the Development settings of Auth/JwtOptions.cs.
string key = builder.Configuration["Jwt:Key"] ?? "couponbooks-development-signing-key-not-for-production";
string issuer = builder.Configuration["Jwt:Issuer"] ?? "couponbooks";
string audience = builder.Configuration["Jwt:Audience"] ?? "couponbooks-api";

builder.Services.AddSingleton(_ =>
{
    var source = new NpgsqlDataSourceBuilder(connectionString);
    source.ConnectionStringBuilder.ApplicationName ??= "couponbooks-reference";
    // Npgsql's automatic preparation: the four statements are parsed and planned once per connection.
    if (source.ConnectionStringBuilder.MaxAutoPrepare == 0)
    {
        source.ConnectionStringBuilder.MaxAutoPrepare = 16;
    }

    return source.Build();
});
builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(bearer =>
{
    bearer.MapInboundClaims = false;
    bearer.TokenValidationParameters = new TokenValidationParameters
    {
        ValidateIssuer = true,
        ValidIssuer = issuer,
        ValidateAudience = true,
        ValidAudience = audience,
        ValidateIssuerSigningKey = true,
        IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)),
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ValidateLifetime = true,
        RequireExpirationTime = true,
        RequireSignedTokens = true,
        ClockSkew = TimeSpan.FromSeconds(30),
        NameClaimType = Caller.SubjectClaim,
        RoleClaimType = Caller.RoleClaim,
    };
});
builder.Services.AddAuthorization();

var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();

app.MapGet("/health", () => TypedResults.Text("ok"));
var coupons = app.MapGroup("/api/v1/coupons").RequireAuthorization();
coupons.MapGet("/{code}", CouponEndpoints.GetAsync);
coupons.MapPost("/{code}/lock", (string code, HttpContext http, NpgsqlDataSource db) => CouponEndpoints.ChangeAsync(code, Transition.Lock, http, db));
coupons.MapPost("/{code}/unlock", (string code, HttpContext http, NpgsqlDataSource db) => CouponEndpoints.ChangeAsync(code, Transition.Unlock, http, db));
coupons.MapPost("/{code}/redeem", (string code, HttpContext http, NpgsqlDataSource db) => CouponEndpoints.ChangeAsync(code, Transition.Redeem, http, db));

app.Run();
