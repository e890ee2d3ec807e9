using CouponBooks.Silo.Demo;
using CouponBooks.Silo.Hosting;

return args switch
{
    ["migrate", ..] => await SiloHost.MigrateOnlyAsync(args[1..]),
    ["demo", ..] => await DemoCommand.RunAsync(args[1..], Console.Out),
    _ => await SiloHost.RunAsync(args),
};

/// <summary>The silo entry point; internal so it does not clash with the Api's public Program in tests.</summary>
internal partial class Program;
