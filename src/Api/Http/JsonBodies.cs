using System.Text.Json.Nodes;

namespace CouponBooks.Api.Http;

/// <summary>Checks on bodies bound as <see cref="JsonObject"/> (merge patches), which the binder takes as given.</summary>
internal static class JsonBodies
{
    /// <summary>A member given twice: the object's dictionary, built on first use, refuses it.</summary>
    public static bool HasDuplicateMembers(JsonObject body)
    {
        try
        {
            _ = body.Count;
            return false;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult DuplicateMembers() =>
        ApiProblems.ValidationFailed("body", "The JSON object gives a member more than once.");
}
