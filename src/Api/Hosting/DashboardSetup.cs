using System.Net;
using CouponBooks.Api.Http;
using Orleans.Dashboard;

namespace CouponBooks.Api.Hosting;

/// <summary>
/// The Orleans Dashboard of an Api that hosts a silo (<c>Orleans:CoHosted</c> and <c>Dashboard:Enabled</c>), at
/// <c>/dashboard/</c>. It has no login and shows every grain of the cluster, so it answers requests from this machine
/// only; anyone else gets 404, as if it were not there. Separate silo processes serve theirs on a port of their own.
/// </summary>
internal static class DashboardSetup
{
    public const string Path = "/dashboard";
    public const string EnabledKey = "Dashboard:Enabled";

    public static bool IsEnabled(IConfiguration configuration) =>
        ClusterClientSetup.IsCoHosted(configuration) && configuration.GetValue<bool>(EnabledKey);

    /// <summary>Turns away dashboard requests from other machines; place it before routing.</summary>
    public static IApplicationBuilder UseDashboardFromThisMachineOnly(this WebApplication app)
    {
        if (!IsEnabled(app.Configuration))
        {
            return app;
        }

        return app.Use((context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(Path, StringComparison.OrdinalIgnoreCase)
                && context.Connection.RemoteIpAddress is { } remote && !IPAddress.IsLoopback(remote))
            {
                return ApiProblems.Problem(ErrorCode.NotFound, "No such resource.").ExecuteAsync(context);
            }

            return next(context);
        });
    }

    public static WebApplication MapCoHostedDashboard(this WebApplication app)
    {
        if (IsEnabled(app.Configuration))
        {
            app.MapOrleansDashboard(routePrefix: Path).AllowAnonymous().ExcludeFromDescription();
        }

        return app;
    }
}
