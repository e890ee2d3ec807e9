using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CouponBooks.Api.Http;

/// <summary>Checks on bodies bound as <see cref="JsonObject"/> (merge patches), which the binder takes as given.</summary>
internal static class JsonBodies
{
    /// <summary>
    /// Null when the object's members can be read, else the problem: a member given twice (the object's dictionary,
    /// built on first use, refuses it), or a member name holding an escaped unpaired UTF-16 surrogate (<c>"\ud800"</c>).
    /// </summary>
    public static ProblemHttpResult? MemberProblem(JsonObject body)
    {
        try
        {
            _ = body.Count;
            return null;
        }
        catch (ArgumentException)
        {
            return ApiProblems.ValidationFailed("body", "The JSON object gives a member more than once.");
        }
        catch (InvalidOperationException)
        {
            return ApiProblems.ValidationFailed("body", "A member name of the JSON object is not text: it holds an unpaired UTF-16 surrogate escape.");
        }
    }

    /// <summary>
    /// The text of a JSON string; null, with a message for <paramref name="field"/>, when it holds an escaped unpaired
    /// UTF-16 surrogate (<c>"\ud800"</c>): valid JSON that no text can hold, which the reader refuses to unescape.
    /// </summary>
    public static string? Text(JsonNode node, string field, FieldErrors errors)
    {
        try
        {
            return node.GetValue<string>();
        }
        catch (InvalidOperationException)
        {
            errors.Add(field, $"{field} is not text: it holds an unpaired UTF-16 surrogate escape.");
            return null;
        }
    }
}
