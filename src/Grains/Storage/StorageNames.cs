namespace CouponBooks.Storage;

/// <summary>Names of the grain storage provider and of each grain class's state: the ADO.NET row key ignores the grain type, so every class needs its own.</summary>
public static class StorageNames
{
    public const string Store = "store";

    public const string UserSecurity = "coupon-books.user-security";

    public const string Job = "coupon-books.job";

    public const string Demo = "coupon-books.demo";
}
