using CouponBooks.Bench;
using CouponBooks.Bench.Codes;
using CouponBooks.Bench.Pools;

// Exit codes: 0 every target met and every check passed; 1 an error or a failed correctness check;
// 2 bad usage; 3 every check passed but a performance target was missed.
if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.Error.WriteLine(BenchOptions.Usage);
    return args.Length == 0 ? 2 : 0;
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"bench: {e.Message}");
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

try
{
    return options.Scenario switch
    {
        "codes" => await new CodesScenario(options).RunAsync(),
        "pools" => await new PoolsScenario(options).RunAsync(),
        _ => throw new ArgumentException($"unknown scenario '{options.Scenario}'"),
    };
}
catch (BenchFailure e)
{
    Console.Error.WriteLine($"bench: FAILED: {e.Message}");
    return 1;
}
