using CouponBooks.Silo.Hosting;

return args is ["migrate", ..]
    ? await SiloHost.MigrateOnlyAsync(args[1..])
    : await SiloHost.RunAsync(args);
