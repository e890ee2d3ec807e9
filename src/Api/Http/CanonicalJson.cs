using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace CouponBooks.Api.Http;

/// <summary>
/// One spelling for each JSON value, so request bodies compare as JSON values, not bytes (API.md, Idempotency): object
/// members sorted by name (ordinal, at every depth; a repeated member keeps its place among its namesakes), numbers
/// normalised (<c>1.50</c>, <c>15e-1</c> and <c>1.5</c> are one number), strings unescaped, no whitespace. Any other
/// difference stays a difference: an extra member, an explicit <c>null</c>, the order of an array.
/// </summary>
public static class CanonicalJson
{
    /// <summary>
    /// The canonical form of a body, tagged by what it is: no body (an empty one included), a JSON value, or bytes
    /// that are not JSON (or hold a string no text can, an unpaired surrogate escape), which are kept as they came.
    /// </summary>
    public static byte[] Of(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty)
        {
            return "none"u8.ToArray();
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var buffer = new ArrayBufferWriter<byte>();
            buffer.Write("json:"u8);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                Write(writer, document.RootElement);
            }

            return buffer.WrittenSpan.ToArray();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return [.. "bytes:"u8, .. body.Span];
        }
    }

    private static void Write(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var member in element.EnumerateObject().OrderBy(m => m.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(member.Name);
                    Write(writer, member.Value);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(element.GetString());
                break;
            case JsonValueKind.Number:
                writer.WriteRawValue(Number(element.GetRawText()));
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    /// <summary>
    /// A JSON number as its significant digits (no leading or trailing zeros) and a decimal exponent: <c>1.50</c> and
    /// <c>15e-1</c> give <c>15e-1</c>, <c>100</c> gives <c>1e2</c>, <c>0</c> and <c>-0.0</c> give <c>0</c>. Exact at any size.
    /// </summary>
    private static string Number(string raw)
    {
        bool negative = raw[0] == '-';
        string text = negative ? raw[1..] : raw;
        int e = text.IndexOfAny(['e', 'E']);
        string mantissa = e < 0 ? text : text[..e];
        if (!int.TryParse(e < 0 ? "0" : text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int written))
        {
            // An exponent beyond 32 bits: compared as written.
            return raw.ToLowerInvariant();
        }

        int dot = mantissa.IndexOf('.');
        string digits = dot < 0 ? mantissa : string.Concat(mantissa.AsSpan(0, dot), mantissa.AsSpan(dot + 1));
        long exponent = written - (dot < 0 ? 0 : mantissa.Length - dot - 1);
        string significant = digits.TrimStart('0');
        if (significant.Length == 0)
        {
            return "0";
        }

        string trimmed = significant.TrimEnd('0');
        exponent += significant.Length - trimmed.Length;
        return string.Create(CultureInfo.InvariantCulture, $"{(negative ? "-" : "")}{trimmed}e{exponent}");
    }
}
