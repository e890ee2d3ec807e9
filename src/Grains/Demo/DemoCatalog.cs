using CouponBooks.Books;

namespace CouponBooks.Demo;

/// <summary>
/// The showcase data: five users, four books with different settings and 200 codes among them, ten coupons
/// already given out and two pools. Ids are fixed so a load can tell what exists already and README can name them.
/// </summary>
public static class DemoCatalog
{
    public sealed record DemoUser(Guid Id, string Email, string Password, string DisplayName);

    /// <param name="Settings">Settings at load time <c>now</c> (the expiring book's window depends on it).</param>
    public sealed record DemoBook(Guid Id, string Pattern, int Codes, Func<DateTimeOffset, BookSettings> Settings);

    public sealed record DemoPool(Guid Id, string Name, string Description, IReadOnlyList<DemoUser> Members);

    /// <summary>The user holds <paramref name="Count"/> coupons of the book after the load.</summary>
    public sealed record DemoAssignment(DemoBook Book, DemoUser User, int Count);

    public static readonly DemoUser Alice = new(Guid.Parse("0d3e0a00-0000-4000-8000-000000000001"), "alice@example.com", "alice-demo-password", "Alice");
    public static readonly DemoUser Bob = new(Guid.Parse("0d3e0a00-0000-4000-8000-000000000002"), "bob@example.com", "bob-demo-password", "Bob");
    public static readonly DemoUser Charlie = new(Guid.Parse("0d3e0a00-0000-4000-8000-000000000003"), "charlie@example.com", "charlie-demo-password", "Charlie");
    public static readonly DemoUser Diana = new(Guid.Parse("0d3e0a00-0000-4000-8000-000000000004"), "diana@example.com", "diana-demo-password", "Diana");
    public static readonly DemoUser Eve = new(Guid.Parse("0d3e0a00-0000-4000-8000-000000000005"), "eve@example.com", "eve-demo-password", "Eve");

    /// <summary>At most two coupons per user.</summary>
    public static readonly DemoBook CoffeeClub = new(Guid.Parse("0d3e0b00-0000-4000-8000-000000000001"), "COFFEE-####-??", 60, _ => new BookSettings(
        "Coffee Club", "A free coffee; at most two per member.", MaxAssignmentsPerUser: 2, MaxTotalAssignments: null,
        MaxRedemptionsPerCoupon: 1, LockTtlSeconds: BookSettings.DefaultLockTtlSeconds, ValidFrom: null, ValidUntil: null));

    /// <summary>One pass per user, redeemable ten times.</summary>
    public static readonly DemoBook CinemaPass = new(Guid.Parse("0d3e0b00-0000-4000-8000-000000000002"), "CINEMA-****-****", 40, _ => new BookSettings(
        "Cinema Ten-Visit Pass", "One pass per user, good for ten visits.", MaxAssignmentsPerUser: 1, MaxTotalAssignments: null,
        MaxRedemptionsPerCoupon: 10, LockTtlSeconds: BookSettings.DefaultLockTtlSeconds, ValidFrom: null, ValidUntil: null));

    /// <summary>A lock lasts 30 seconds, and only 40 coupons may ever be given out.</summary>
    public static readonly DemoBook FlashSale = new(Guid.Parse("0d3e0b00-0000-4000-8000-000000000003"), "FLASH-######", 50, _ => new BookSettings(
        "Flash Sale", "Checkout within 30 seconds of locking; 40 coupons in all.", MaxAssignmentsPerUser: null, MaxTotalAssignments: 40,
        MaxRedemptionsPerCoupon: 1, LockTtlSeconds: 30, ValidFrom: null, ValidUntil: null));

    /// <summary>Valid until one day after the load.</summary>
    public static readonly DemoBook SummerSendOff = new(Guid.Parse("0d3e0b00-0000-4000-8000-000000000004"), "SUMMER-####-????", 50, now => new BookSettings(
        "Summer Send-off", "The last days of summer: valid until one day after the demo data was loaded.", MaxAssignmentsPerUser: 3,
        MaxTotalAssignments: null, MaxRedemptionsPerCoupon: 1, LockTtlSeconds: BookSettings.DefaultLockTtlSeconds,
        ValidFrom: now.AddDays(-30), ValidUntil: now.AddDays(1)));

    public static readonly IReadOnlyList<DemoUser> Users = [Alice, Bob, Charlie, Diana, Eve];

    public static readonly IReadOnlyList<DemoBook> Books = [CoffeeClub, CinemaPass, FlashSale, SummerSendOff];

    public static readonly IReadOnlyList<DemoPool> Pools =
    [
        new(Guid.Parse("0d3e0c00-0000-4000-8000-000000000001"), "Regulars", "Customers who come back every week.", [Alice, Bob, Charlie]),
        new(Guid.Parse("0d3e0c00-0000-4000-8000-000000000002"), "Newcomers", "Customers who joined this month.", [Diana, Eve]),
    ];

    /// <summary>Ten coupons in all; Bob already holds the Coffee Club's limit of two.</summary>
    public static readonly IReadOnlyList<DemoAssignment> Assignments =
    [
        new(CoffeeClub, Alice, 1),
        new(CoffeeClub, Bob, 2),
        new(CoffeeClub, Charlie, 1),
        new(CinemaPass, Diana, 1),
        new(CinemaPass, Eve, 1),
        new(FlashSale, Bob, 1),
        new(FlashSale, Charlie, 1),
        new(SummerSendOff, Alice, 1),
        new(SummerSendOff, Eve, 1),
    ];
}
