using Npgsql;

namespace CouponBooks.Storage;

/// <summary>Small helpers for the grains' hand-written SQL.</summary>
public static class Sql
{
    /// <summary>A batch command with positional parameters ($1, $2, ...).</summary>
    public static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (object value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }
}
