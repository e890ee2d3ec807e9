using Microsoft.AspNetCore.Http.HttpResults;

namespace CouponBooks.Api.Http;

/// <summary>Collects per-field validation messages for one request.</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public FieldErrors Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var messages))
        {
            _errors[field] = messages = [];
        }

        messages.Add(message);
        return this;
    }

    /// <summary>Adds the message when the condition does not hold; returns the condition.</summary>
    public bool Check(bool condition, string field, string message)
    {
        if (!condition)
        {
            Add(field, message);
        }

        return condition;
    }

    public ProblemHttpResult ToProblem() => ApiProblems.ValidationFailed(_errors.ToDictionary(e => e.Key, e => e.Value.ToArray()));
}
