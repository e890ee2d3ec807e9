using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Nodes;
using CouponBooks.Api.Audit;
using CouponBooks.Api.Auth;
using CouponBooks.Api.Http;
using CouponBooks.Users;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace CouponBooks.Api.Users;

/// <summary>The caller's own profile and the admin endpoints over users.</summary>
public static class UsersApi
{
    private const string CursorKind = "users";

    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/users").WithTags("Users").RequireAuthorization()
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        group.MapGet("/me", GetMeAsync)
            .WithSummary("The calling user.");

        var admin = group.MapGroup("").RequireAuthorization(AuthSetup.AdminPolicy)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        admin.MapGet("/", ListAsync)
            .WithSummary("List users, or look one up by email (exact, case-insensitive).")
            .WithDescription("Paged by `limit` (1..1000, default 50) and the opaque `cursor` of the previous page. Errors: 400 `validation-failed`.")
            .ProducesProblem(StatusCodes.Status400BadRequest);

        admin.MapGet("/{id:guid}", GetAsync)
            .WithSummary("One user.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapPatch("/{id:guid}", PatchAsync)
            .WithSummary("Change a user's display name, role or disabled flag (JSON merge patch).")
            .WithDescription("Members left out stay as they are; `displayName: null` clears the name. Disabling a user stops its tokens at once and revokes its refresh tokens; a role change shows in the user's next access token. An administrator cannot disable or demote itself. Errors: 400 `validation-failed`, 404 `not-found`.")
            .Accepts<UserPatchRequest>("application/json", "application/merge-patch+json")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        return app;
    }

    private static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> GetMeAsync(HttpContext http, IClusterClient cluster)
    {
        var caller = Caller.From(http.User);
        var user = await cluster.GetGrain<IUserGrain>(caller.UserId).GetAsync();
        return user is null ? ApiProblems.Problem(ErrorCode.NotFound, "The user of this token no longer exists.") : TypedResults.Ok(UserResponse.From(user));
    }

    private static async Task<Results<Ok<Page<UserResponse>>, ProblemHttpResult>> ListAsync(
        IClusterClient cluster, string? email, int? limit, string? cursor)
    {
        var errors = new FieldErrors();
        int size = Paging.Limit(limit, errors);
        Guid? after = Paging.GuidCursor(cursor, CursorKind, errors);
        if (email is not null)
        {
            errors.Check(email.Trim().Length is > 0 and <= UserInput.MaxEmailLength && !UserInput.HasControlCharacters(email), "email", "email must be 1..254 characters with no control characters.");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var directory = cluster.GetGrain<IUserDirectoryGrain>(0);
        if (email is not null)
        {
            var found = await directory.FindByEmailAsync(email.Trim());
            UserResponse[] items = found is null || (after is { } skip && found.Id.CompareTo(skip) <= 0) ? [] : [UserResponse.From(found)];
            return TypedResults.Ok(new Page<UserResponse>(items, null));
        }

        var page = await directory.ListAsync(after, size);
        return TypedResults.Ok(Paging.ToPage(page.Items, page.Next, CursorKind, UserResponse.From));
    }

    private static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> GetAsync(Guid id, IClusterClient cluster)
    {
        var user = await cluster.GetGrain<IUserGrain>(id).GetAsync();
        return user is null ? ApiProblems.Problem(ErrorCode.NotFound, "No such user.") : TypedResults.Ok(UserResponse.From(user));
    }

    private static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> PatchAsync(
        Guid id, [FromBody] JsonElement json, IClusterClient cluster, DisabledUsers disabledUsers, AuditLog audit, HttpContext http)
    {
        if (JsonBodies.ReadObject(json, out var body) is { } unreadable)
        {
            return unreadable;
        }

        var errors = new FieldErrors();
        var patch = ReadPatch(body, errors);
        var caller = Caller.From(http.User);
        if (patch is not null && id == caller.UserId)
        {
            errors.Check(patch.Disabled != true, "disabled", "An administrator cannot disable itself.");
            errors.Check(patch.Role is null or UserRole.Admin, "role", "An administrator cannot remove its own ADMIN role.");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var outcome = await cluster.GetGrain<IUserGrain>(id).PatchAsync(patch!);
        if (outcome.Refusal is { } refusal)
        {
            return http.Problem(refusal);
        }

        // This process knows at once; the others hear it from the cluster.
        disabledUsers.Set(id, outcome.Value!.Disabled);
        var changed = new Dictionary<string, object?>();
        if (patch!.SetDisplayName)
        {
            changed["displayName"] = patch.DisplayName;
        }

        if (patch.Role is { } role)
        {
            changed["role"] = role.ToWire();
        }

        if (patch.Disabled is { } disabled)
        {
            changed["disabled"] = disabled;
        }

        if (changed.Count > 0)
        {
            await audit.RecordAsync(http, AuditActions.UserUpdated, AuditTargets.User, id, changed);
        }

        return TypedResults.Ok(UserResponse.From(outcome.Value!));
    }

    private static UserPatch? ReadPatch(JsonObject body, FieldErrors errors)
    {
        bool setDisplayName = body.TryGetPropertyValue("displayName", out var displayNameNode);
        string? displayName = null;
        if (setDisplayName && displayNameNode is not null)
        {
            if (displayNameNode.GetValueKind() == JsonValueKind.String)
            {
                displayName = UserInput.DisplayName(JsonBodies.Text(displayNameNode, "displayName", errors), errors);
            }
            else
            {
                errors.Add("displayName", "displayName must be a string or null.");
            }
        }

        UserRole? role = null;
        if (body.TryGetPropertyValue("role", out var roleNode))
        {
            string? text = roleNode?.GetValueKind() == JsonValueKind.String ? JsonBodies.Text(roleNode, "role", errors) : null;
            if (text is not null && UserRoles.TryParse(text, out var parsed))
            {
                role = parsed;
            }
            else
            {
                errors.Add("role", "role must be USER or ADMIN.");
            }
        }

        bool? disabled = null;
        if (body.TryGetPropertyValue("disabled", out var disabledNode))
        {
            if (disabledNode?.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
            {
                disabled = disabledNode.GetValue<bool>();
            }
            else
            {
                errors.Add("disabled", "disabled must be true or false.");
            }
        }

        return errors.Any ? null : new UserPatch(setDisplayName, displayName, role, disabled);
    }
}

/// <summary>The body of PATCH /users/{id}, for the OpenAPI document; every member is optional.</summary>
public sealed record UserPatchRequest(string? DisplayName, [property: AllowedValues("USER", "ADMIN")] string? Role, bool? Disabled);
