namespace CouponBooks.Demo;

/// <summary>
/// What one load of the showcase data did. A load that finds the data already loaded does nothing and answers
/// zeros with <see cref="AlreadyLoaded"/> set and the time of the first load.
/// </summary>
[GenerateSerializer, Immutable, Alias("CouponBooks.DemoReport")]
public sealed record DemoReport(
    [property: Id(0)] bool AlreadyLoaded,
    [property: Id(1)] DateTimeOffset LoadedAt,
    [property: Id(2)] int UsersCreated,
    [property: Id(3)] int BooksCreated,
    [property: Id(4)] long CodesGenerated,
    [property: Id(5)] int CouponsAssigned,
    [property: Id(6)] int PoolsCreated,
    [property: Id(7)] long MembersAdded);

/// <summary>
/// Loads the showcase data (demo users, books, codes, assignments, pools) once per database, through the grains'
/// own rules. Non-reentrant, so loads started at the same time run one after the other. One activation (key 0).
/// </summary>
public interface IDemoDataGrain : IGrainWithIntegerKey
{
    [ResponseTimeout("00:10:00")]
    Task<DemoReport> LoadAsync();
}
