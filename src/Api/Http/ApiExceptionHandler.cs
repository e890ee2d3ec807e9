using System.Text.Json;
using System.Text.RegularExpressions;
using CouponBooks.Coupons;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;
using Orleans.Runtime;

namespace CouponBooks.Api.Http;

/// <summary>Turns what escapes a handler into problem details: bad input is 400/413/415, an unreachable cluster or database is 503.</summary>
internal sealed partial class ApiExceptionHandler(IProblemDetailsService problems, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    /// <summary>A coupon busy with other writers is usually free again at once.</summary>
    private static readonly TimeSpan BusyRetryAfter = TimeSpan.FromSeconds(1);

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
        {
            return true;
        }

        var (code, detail, errors) = Classify(exception, context.Request);
        if (code is null)
        {
            logger.LogError(exception, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            return false;
        }

        if (code == ErrorCode.ValidationFailed && IsDataException(exception))
        {
            // Bad input that got as far as the database: an answer for the client, and worth a look at the check that let it through.
            logger.LogWarning(exception, "Answering 400 on {Method} {Path}: PostgreSQL refused a value of the request", context.Request.Method, context.Request.Path);
        }

        if (code == ErrorCode.ServiceUnavailable)
        {
            logger.LogWarning("Answering 503 on {Method} {Path}: {Reason}", context.Request.Method, context.Request.Path, exception.Message);
            ApiProblems.SetRetryAfter(context, Find<CouponBusyException>(exception) is null ? ApiProblems.UnavailableRetryAfter : BusyRetryAfter);
        }

        var problem = ApiProblems.Details(code.Value, detail, errors);
        context.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem, Exception = exception });
    }

    private static (ErrorCode? Code, string? Detail, Dictionary<string, string[]>? Errors) Classify(Exception exception, HttpRequest request)
    {
        switch (exception)
        {
            // The JSON reader cannot decode a body whose Content-Type names a charset .NET does not know.
            case InvalidOperationException when HasUnknownCharset(request):
                return (ErrorCode.UnsupportedMediaType, "The request body's charset is not a known encoding; send UTF-8.", null);
            case BadHttpRequestException bad when ApiProblems.CodeForStatus(bad.StatusCode) is { } code:
                if (code != ErrorCode.ValidationFailed)
                {
                    return (code, bad.Message, null);
                }

                return UnboundParameter(bad, request) is { } parameter
                    ? (code, $"The {parameter.Source} {parameter.Name} could not be read.", new() { [parameter.Name] = [parameter.Message] })
                    : (code, "The request could not be read.", new() { [FieldOf(bad)] = [Describe(bad)] });
            case JsonException json:
                return (ErrorCode.ValidationFailed, "The request body is not valid JSON.", new() { [json.Path ?? "body"] = [json.Message] });
            case var _ when IsDataException(exception):
                return (ErrorCode.ValidationFailed, "A value of the request cannot be stored or compared.",
                    new() { ["request"] = ["A value of the request is not valid data for the database (a NUL character, say)."] });
        }

        if (!IsUnavailable(exception))
        {
            return (null, null, null);
        }

        return Find<CouponBusyException>(exception) is null
            ? (ErrorCode.ServiceUnavailable, "The cluster or the database cannot be reached.", null)
            : (ErrorCode.ServiceUnavailable, "The coupon kept changing while this request was being decided, so nothing was changed; send it again.", null);
    }

    /// <summary>The exception, or the first of its inner exceptions, of type <typeparamref name="T"/>.</summary>
    private static T? Find<T>(Exception? exception)
        where T : Exception
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is T found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>Faults that mean "a part of the system cannot be reached now", not "this request is wrong".</summary>
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        SiloUnavailableException or OrleansMessageRejectionException or GatewayTooBusyException or StorageUnavailableException => true,
        // The client could not open a connection to a gateway (a silo that was just killed, say).
        Orleans.Runtime.Messaging.ConnectionFailedException => true,
        System.Net.Sockets.SocketException or Microsoft.AspNetCore.Connections.ConnectionAbortedException or Microsoft.AspNetCore.Connections.ConnectionResetException => true,
        TimeoutException or CouponBusyException => true,
        PostgresException postgres => IsUnavailableState(postgres.SqlState),
        NpgsqlException => true,
        OrleansException orleans when orleans.Message.Contains("gateway", StringComparison.OrdinalIgnoreCase) => true,
        InvalidOperationException invalid when invalid.Message.Contains("not been initialized", StringComparison.OrdinalIgnoreCase)
            || invalid.Message.Contains("not connected", StringComparison.OrdinalIgnoreCase) => true,
        AggregateException aggregate => aggregate.InnerExceptions.All(IsUnavailable),
        _ => exception.InnerException is { } inner && IsUnavailable(inner),
    };

    /// <summary>
    /// PostgreSQL's data exceptions (SQLSTATE class 22: a NUL byte in text, a malformed value, a number out of range) come
    /// from input: the Api's own statements raise them as they are, a grain's as <see cref="StorageRefusedValueException"/>.
    /// </summary>
    private static bool IsDataException(Exception exception) =>
        Find<StorageRefusedValueException>(exception) is not null
        || (Find<PostgresException>(exception) is { SqlState: var state } && state.StartsWith("22", StringComparison.Ordinal));

    // Connection exceptions (08), insufficient resources (53), operator intervention such as a shutdown (57).
    private static bool IsUnavailableState(string sqlState) => sqlState.StartsWith("08", StringComparison.Ordinal)
        || sqlState.StartsWith("53", StringComparison.Ordinal) || sqlState.StartsWith("57", StringComparison.Ordinal);

    private static bool HasUnknownCharset(HttpRequest request)
    {
        if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || type.Charset.Value is not { Length: > 0 } charset)
        {
            return false;
        }

        try
        {
            _ = System.Text.Encoding.GetEncoding(charset.Trim('"'));
            return false;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    /// <summary>
    /// The query or route parameter a binding failure is about, read from the framework's message (RequestDelegateFactory:
    /// <c>Failed to bind parameter "int? limit" from "abc".</c>, <c>Required parameter "Guid id" was not provided from query string.</c>);
    /// null for the body and for any message of another form.
    /// </summary>
    private static (string Source, string Name, string Message)? UnboundParameter(BadHttpRequestException bad, HttpRequest request)
    {
        if (BindingFailed().Match(bad.Message) is { Success: true } failed)
        {
            string name = failed.Groups["name"].Value, value = failed.Groups["value"].Value;
            if (value.Length > 100)
            {
                value = value[..100] + "…";
            }

            return (SourceOf(request, name), name, $"The value '{value}' is not valid for {name}: send {Expected(failed.Groups["type"].Value)}.");
        }

        if (NotProvided().Match(bad.Message) is { Success: true } missing && missing.Groups["source"].Value != "body")
        {
            string name = missing.Groups["name"].Value;
            return (SourceOf(request, name), name, $"{name} is required.");
        }

        return null;
    }

    private static string SourceOf(HttpRequest request, string name) =>
        request.Query.ContainsKey(name) ? "query parameter" : request.RouteValues.ContainsKey(name) ? "route value" : "parameter";

    /// <summary>What a value of the parameter's type looks like, in the client's words (the framework names the type as C# does).</summary>
    private static string Expected(string type) => type.Replace("Nullable<", "", StringComparison.Ordinal).TrimEnd('?', '>') switch
    {
        "int" or "short" or "byte" or "sbyte" or "ushort" or "uint" => "a whole number (32-bit)",
        "long" or "ulong" => "a whole number (64-bit)",
        "double" or "float" or "decimal" => "a number",
        "bool" => "true or false",
        "Guid" => "a UUID",
        "DateTimeOffset" or "DateTime" => "an ISO-8601 timestamp",
        var other => $"a value of type {other}",
    };

    [GeneratedRegex("""^Failed to bind parameter "(?<type>[^"]*) (?<name>[^" ]+)" from "(?<value>.*)"\.$""", RegexOptions.Singleline)]
    private static partial Regex BindingFailed();

    [GeneratedRegex("""^Required parameter "(?<type>[^"]*) (?<name>[^" ]+)" was not provided from (?<source>.+)\.$""", RegexOptions.Singleline)]
    private static partial Regex NotProvided();

    private static string FieldOf(BadHttpRequestException bad) =>
        bad.InnerException is JsonException { Path: { Length: > 1 } path } ? path.TrimStart('$', '.') : "body";

    private static string Describe(BadHttpRequestException bad) =>
        bad.InnerException is JsonException json ? $"The JSON is malformed or has a value of the wrong type: {json.Message}" : bad.Message;
}
