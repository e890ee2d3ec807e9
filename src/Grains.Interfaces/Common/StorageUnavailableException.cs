namespace CouponBooks;

/// <summary>
/// PostgreSQL could not be reached (or refused service: shutting down, out of connections) while a grain worked on a
/// call. Raised by the silo in place of the driver's exception, which Orleans cannot carry back to the caller; the
/// change the call asked for may or may not have been made.
/// </summary>
[GenerateSerializer, Alias("CouponBooks.StorageUnavailableException")]
public sealed class StorageUnavailableException : Exception
{
    public StorageUnavailableException()
    {
    }

    public StorageUnavailableException(string message)
        : base(message)
    {
    }

    public StorageUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
