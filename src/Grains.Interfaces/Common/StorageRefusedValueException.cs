namespace CouponBooks;

/// <summary>
/// PostgreSQL refused a value a grain sent it as data it cannot hold or compare (SQLSTATE class 22: a NUL character in
/// text, a malformed or out-of-range value). Raised by the silo in place of the driver's exception, which Orleans
/// cannot carry back to the caller; nothing of the statement was stored. Such values come from requests: the Api
/// answers 400.
/// </summary>
[GenerateSerializer, Alias("CouponBooks.StorageRefusedValueException")]
public sealed class StorageRefusedValueException : Exception
{
    public StorageRefusedValueException()
    {
    }

    public StorageRefusedValueException(string message)
        : base(message)
    {
    }

    public StorageRefusedValueException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
