using System.Security.Claims;
using CouponBooks.Users;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
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
                var validated = new ValidatedTokenCache(new JsonWebTokenHandler { MapInboundClaims = false }, clock);
                bearer.TokenHandlers.Clear();
                bearer.TokenHandlers.Add(validated);
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
                    // A token validated before is taken from the cache here, before the handler copies its validation
                    // parameters and asks the token handlers: the same answer for a fraction of the work.
                    OnMessageReceived = context =>
                    {
                        if (ValidatedTokenCache.BearerToken(context.Request.Headers.Authorization) is { IsEmpty: false } token
                            && validated.TryGetValid(token, out var identity))
                        {
                            context.Principal = new ClaimsPrincipal(identity);
                            Admit(context, context.Principal, disabledUsers);
                        }

                        return Task.CompletedTask;
                    },
                    OnTokenValidated = context =>
                    {
                        Admit(context, context.Principal, disabledUsers);
                        return Task.CompletedTask;
                    },
                };
            });

        services.AddSingleton<IAuthorizationHandlerProvider, SharedAuthorizationHandlers>();
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, policy => policy.RequireAuthenticatedUser().RequireRole(UserRoles.Admin));
        return services;
    }

    /// <summary>A validated token is accepted when it names a user who is not disabled.</summary>
    private static void Admit(ResultContext<JwtBearerOptions> context, ClaimsPrincipal? principal, DisabledUsers disabledUsers)
    {
        if (principal is null || Caller.TryFrom(principal) is not { } caller)
        {
            context.Fail("The token names no user.");
        }
        else if (disabledUsers.Contains(caller.UserId))
        {
            context.Fail("The user is disabled.");
        }
        else if (context is MessageReceivedContext)
        {
            context.Success();
        }
    }
}

/// <summary>
/// The authorization handlers (all singletons here) handed out as one completed task, where the default provider
/// allocates a new one for every check of every request.
/// </summary>
internal sealed class SharedAuthorizationHandlers(IEnumerable<IAuthorizationHandler> handlers) : IAuthorizationHandlerProvider
{
    private readonly Task<IEnumerable<IAuthorizationHandler>> _handlers = Task.FromResult<IEnumerable<IAuthorizationHandler>>([.. handlers]);

    public Task<IEnumerable<IAuthorizationHandler>> GetHandlersAsync(AuthorizationHandlerContext context) => _handlers;
}
