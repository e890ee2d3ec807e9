using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CouponBooks.Api.Http;

/// <summary>Checks on merge-patch bodies: bound as a <see cref="JsonElement"/> (the reader refuses a member given twice), read as a <see cref="JsonObject"/>.</summary>
internal static class JsonBodies
{
    /// <summary>
    /// The body as an object whose members can be read, or the problem: a body that is not a JSON object, or a member
    /// name holding an escaped unpaired UTF-16 surrogate (<c>"\ud800"</c>).
    /// </summary>
    public static ProblemHttpResult? ReadObject(JsonElement body, out JsonObject patch)
    {
        patch = [];
        if (body.ValueKind != JsonValueKind.Object)
        {
            return ApiProblems.ValidationFailed("body", $"The body must be a JSON object, not {body.ValueKind.ToString().ToLowerInvariant()}.");
        }

        try
        {
            patch = JsonObject.Create(body)!;
            _ = patch.Count;
            return null;
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
