using CouponBooks.Users;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CouponBooks.Api.Auth;

internal static class AuthSetup
{
    public const string AdminPolicy = "admin";

    public static IServiceCollection AddApiAuthentication(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        services.AddOptions<JwtOptions>()
            .Bind(configuration.GetSection(JwtOptions.Section))
            .PostConfigure(o =>
            {
                if (string.IsNullOrEmpty(o.Key) && environment.IsDevelopment())
                {
                    o.Key = JwtOptions.DevelopmentKey;
                }
            })
            .Validate(o => o.KeyBytes.Length >= 32, "Jwt:Key must be set to a key of at least 32 bytes (Jwt__Key).")
            .Validate(o => environment.IsDevelopment() || o.Key != JwtOptions.DevelopmentKey, "Jwt:Key is the development key; set a secret key outside Development.")
            .Validate(o => o.AccessTokenMinutes is >= 1 and <= 1440, "Jwt:AccessTokenMinutes must be 1..1440.")
            .Validate(o => !string.IsNullOrWhiteSpace(o.Issuer) && !string.IsNullOrWhiteSpace(o.Audience), "Jwt:Issuer and Jwt:Audience must be set.")
            .ValidateOnStart();

        services.AddSingleton<AccessTokenIssuer>();
        services.AddSingleton<DisabledUsers>();
        services.AddHostedService<DisabledUsersSubscription>();

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<JwtOptions>, DisabledUsers, TimeProvider>((bearer, jwtOptions, disabledUsers, clock) =>
            {
                var jwt = jwtOptions.Value;
                bearer.MapInboundClaims = false;
                bearer.TokenHandlers.Clear();
                bearer.TokenHandlers.Add(new ValidatedTokenCache(new JsonWebTokenHandler { MapInboundClaims = false }, clock));
                bearer.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidateIssuer = true,
                    ValidIssuer = jwt.Issuer,
                    ValidateAudience = true,
                    ValidAudience = jwt.Audience,
                    ValidateIssuerSigningKey = true,
                    IssuerSigningKey = new SymmetricSecurityKey(jwt.KeyBytes),
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    ValidateLifetime = true,
                    RequireExpirationTime = true,
                    RequireSignedTokens = true,
                    ClockSkew = TimeSpan.FromSeconds(30),
                    NameClaimType = Caller.SubjectClaim,
                    RoleClaimType = Caller.RoleClaim,
                };
                bearer.Events = new JwtBearerEvents
                {
                    OnTokenValidated = context =>
                    {
                        if (context.Principal is null || Caller.TryFrom(context.Principal) is not { } caller)
                        {
                            context.Fail("The token names no user.");
                        }
                        else if (disabledUsers.Contains(caller.UserId))
                        {
                            context.Fail("The user is disabled.");
                        }

                        return Task.CompletedTask;
                    },
                };
            });

        services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, policy => policy.RequireAuthenticatedUser().RequireRole(UserRoles.Admin));
        return services;
    }
}
