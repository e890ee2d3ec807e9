using Npgsql;

namespace CouponBooks.Storage;

/// <summary>
/// Turns a database fault that escapes a grain call into an exception Orleans can carry to the caller. Orleans cannot
/// serialize Npgsql's exceptions, so without this the caller would get a serialization error in place of the fault
/// (and the Api would answer 500 where it should answer 503).
/// </summary>
internal sealed class StorageFaultFilter : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception exception) when (Translate(exception) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>The exception to raise in place of one that holds a database fault; null when it holds none.</summary>
    public static Exception? Translate(Exception exception)
    {
        if (Find(exception) is not { } fault)
        {
            return null;
        }

        return fault switch
        {
            PostgresException { SqlState: var state } when state.StartsWith("22", StringComparison.Ordinal) =>
                new StorageRefusedValueException($"PostgreSQL refused a value ({state}): {fault.Message}"),
            PostgresException { SqlState: var state } when !IsUnavailableState(state) =>
                new InvalidOperationException($"PostgreSQL refused a statement ({state}): {fault.Message}"),
            _ => new StorageUnavailableException($"PostgreSQL cannot be reached: {fault.Message}"),
        };
    }

    private static NpgsqlException? Find(Exception exception) => exception switch
    {
        NpgsqlException npgsql => npgsql,
        AggregateException aggregate => aggregate.InnerExceptions.Select(Find).FirstOrDefault(e => e is not null),
        _ => exception.InnerException is { } inner ? Find(inner) : null,
    };

    // Connection exceptions (08), insufficient resources (53), operator intervention such as a shutdown (57).
    private static bool IsUnavailableState(string state) =>
        state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("53", StringComparison.Ordinal) || state.StartsWith("57", StringComparison.Ordinal);
}
