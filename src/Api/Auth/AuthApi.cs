using System.ComponentModel.DataAnnotations;
using CouponBooks.Api.Http;
using CouponBooks.Api.Users;
using CouponBooks.Users;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CouponBooks.Api.Auth;

public sealed record RegisterRequest([property: Required] string? Email, [property: Required] string? Password, string? DisplayName);

public sealed record LoginRequest([property: Required] string? Email, [property: Required] string? Password);

public sealed record RefreshRequest([property: Required] string? RefreshToken);

/// <summary>Register, log in and refresh: the only endpoints under /api/v1 that take no token.</summary>
public static class AuthApi
{
    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/auth").WithTags("Auth").AllowAnonymous();

        group.MapPost("/register", RegisterAsync)
            .RequireRateLimiting(RateLimits.SignInPolicy)
            .WithSummary("Register a new user (role USER).")
            .WithDescription("Errors: 400 `validation-failed`, 400 `weak-password` (under 10 characters), 409 `email-taken` (emails compare case-insensitively), 429 `rate-limited` (too many registrations and logins from one address; with `Retry-After`).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapPost("/login", LoginAsync)
            .RequireRateLimiting(RateLimits.SignInPolicy)
            .WithSummary("Exchange email and password for an access token and a refresh token.")
            .WithDescription("Errors: 400 `validation-failed`, 401 `invalid-credentials` (also for an unknown email), 403 `account-disabled`, 429 `account-locked` after repeated failures, 429 `rate-limited` (too many registrations and logins from one address); both with `Retry-After`.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapPost("/refresh", RefreshAsync)
            .WithSummary("Rotate a refresh token into a new token pair.")
            .WithDescription("Each refresh token works once. Errors: 400 `validation-failed`, 401 `unauthorized` (unknown, expired or reused token; a reused token also revokes every token rotated from the same login).")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        return app;
    }

    private static async Task<Results<Created<UserResponse>, ProblemHttpResult>> RegisterAsync(
        RegisterRequest request, IClusterClient cluster, HttpContext http)
    {
        var errors = new FieldErrors();
        string? email = UserInput.Email(request.Email, errors);
        string? displayName = UserInput.DisplayName(request.DisplayName, errors);
        string? password = request.Password;
        if (password is null)
        {
            errors.Add("password", "A password is required.");
        }
        else
        {
            errors.Check(password.Length <= UserInput.MaxPasswordLength, "password", $"The password is at most {UserInput.MaxPasswordLength} characters.");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        if (password!.Length < UserInput.MinPasswordLength)
        {
            return TypedResults.Problem(ApiProblems.Details(
                ErrorCode.WeakPassword,
                $"The password must be at least {UserInput.MinPasswordLength} characters long.",
                new Dictionary<string, string[]> { ["password"] = [$"At least {UserInput.MinPasswordLength} characters."] }));
        }

        var outcome = await cluster.GetGrain<IUserGrain>(Guid.CreateVersion7())
            .RegisterAsync(new Registration(email!, password, displayName, UserRole.User));
        if (outcome.Refusal is { } refusal)
        {
            return http.Problem(refusal);
        }

        var user = UserResponse.From(outcome.Value!);
        return TypedResults.Created($"/api/v1/users/{user.Id}", user);
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> LoginAsync(
        LoginRequest request, IClusterClient cluster, AccessTokenIssuer tokens, HttpContext http)
    {
        var errors = new FieldErrors();
        errors.Check(!string.IsNullOrWhiteSpace(request.Email), "email", "An email is required.");
        errors.Check(!string.IsNullOrEmpty(request.Password), "password", "A password is required.");
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        string email = request.Email!.Trim();
        if (email.Length > UserInput.MaxEmailLength || UserInput.HasControlCharacters(email) || request.Password!.Length > UserInput.MaxPasswordLength)
        {
            return ApiProblems.Problem(ErrorCode.InvalidCredentials, "The email or password is wrong.");
        }

        var outcome = await cluster.GetGrain<IUserDirectoryGrain>(0).SignInAsync(email, request.Password);
        return outcome.Refusal is { } refusal ? http.Problem(refusal) : TypedResults.Ok(tokens.Issue(outcome.Value!));
    }

    private static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> RefreshAsync(
        RefreshRequest request, IClusterClient cluster, AccessTokenIssuer tokens, HttpContext http)
    {
        if (string.IsNullOrEmpty(request.RefreshToken))
        {
            return ApiProblems.ValidationFailed("refreshToken", "A refresh token is required.");
        }

        if (!RefreshTokenFormat.TryDecode(request.RefreshToken, out var token))
        {
            return ApiProblems.Problem(ErrorCode.Unauthorized, "The refresh token is not valid.");
        }

        var outcome = await cluster.GetGrain<IUserGrain>(token.UserId).RefreshAsync(request.RefreshToken);
        return outcome.Refusal is { } refusal ? http.Problem(refusal) : TypedResults.Ok(tokens.Issue(outcome.Value!));
    }
}
