using System.Text.Json;
using System.Text.Json.Serialization;

namespace CouponBooks.Api.Http;

/// <summary>
/// Writes every <see cref="DateTimeOffset"/> in UTC with a <c>Z</c> (API.md: timestamps are ISO-8601 UTC), to the
/// precision the value holds, as the CSV export does; the default writes the offset (<c>+00:00</c>). Reads as the
/// default does, so any offset a client sends is still accepted.
/// </summary>
public sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDateTimeOffset();

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) => writer.WriteStringValue(value.UtcDateTime);
}
