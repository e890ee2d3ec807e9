using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using CouponBooks.Api.Books;
using CouponBooks.Api.Http;
using CouponBooks.Tests.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace CouponBooks.Tests.Hardening;

/// <summary>Every endpoint has a body limit (1 MiB; the CSV upload 64 MiB), on a real Kestrel server.</summary>
[Collection(HardeningCollection.Name)]
public sealed class RequestBodyLimitTests(HardeningFixture api, ITestOutputHelper output)
{
    private const string UploadTemplate = "/api/v1/books/{id:guid}/codes/upload";

    [Fact]
    public async Task Every_endpoint_refuses_a_declared_body_over_its_limit_before_reading_it()
    {
        using var admin = await api.AdminClientAsync();
        string token = admin.DefaultRequestHeaders.Authorization!.Parameter!;
        var endpoints = DiscoverEndpoints();
        Assert.Contains(endpoints, e => e.Template == UploadTemplate);
        Assert.Contains(endpoints, e => e.Template == "/api/v1/audit");

        var failures = new List<string>();
        foreach (var (method, template, path) in endpoints)
        {
            long limit = template == UploadTemplate ? BooksApi.MaxUploadBytes : RequestBodyLimits.DefaultMaxBytes;
            var (status, head, body) = await SendHeadAsync(method, path, limit + 1, token);
            // A HEAD answer has no body to carry the problem: its status alone tells.
            bool problemOk = method == "HEAD"
                || (head.Contains("application/problem+json", StringComparison.OrdinalIgnoreCase) && body.Contains("\"code\":\"payload-too-large\"", StringComparison.Ordinal));
            if (status != 413 || !problemOk)
            {
                failures.Add($"{method} {template}: {status} {body[..Math.Min(200, body.Length)]}");
            }
        }

        output.WriteLine($"{endpoints.Count} endpoints");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task The_upload_reads_a_body_over_one_mib()
    {
        using var admin = await api.AdminClientAsync();
        var bookId = await BookCalls.CreateBookAsync(admin);
        // One line of 1 MiB + 1 bytes: read to the end (not 413), then refused as a line too long to be a code.
        var content = new ByteArrayContent(Encoding.ASCII.GetBytes(new string('A', (int)RequestBodyLimits.DefaultMaxBytes + 1)));
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");

        var problem = await ApiCalls.AssertProblemAsync(await admin.PostAsync($"/api/v1/books/{bookId}/codes/upload", content), HttpStatusCode.BadRequest, "invalid-codes");

        Assert.Equal(1, Assert.Single(problem.GetProperty("offenders").EnumerateArray()).GetProperty("line").GetInt32());
        Assert.Equal(0L, await BookCalls.CountCodesAsync(api.ConnectionString, bookId));
    }

    [Fact]
    public async Task A_streamed_body_over_one_mib_is_payload_too_large_and_stores_nothing()
    {
        using var admin = await api.AdminClientAsync();
        string name = $"Too big {Guid.NewGuid():N}";
        byte[] json = Encoding.UTF8.GetBytes($$"""{"name":"{{name}}","description":"{{new string('d', (int)RequestBodyLimits.DefaultMaxBytes)}}"}""");
        var content = new StreamContent(new MemoryStream(json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/books") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        await ApiCalls.AssertProblemAsync(await admin.SendAsync(request), HttpStatusCode.RequestEntityTooLarge, "payload-too-large");
        Assert.Equal(0L, await TestDb.ScalarAsync<long>(api.ConnectionString, "select count(*) from books where name = $1", name));
    }

    /// <summary>Sends only the request head, declaring <paramref name="length"/> bytes; answers status, head and body of the answer.</summary>
    private async Task<(int Status, string Head, string Body)> SendHeadAsync(string method, string path, long length, string token, string contentType = "application/json")
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(api.BaseAddress.Host, api.BaseAddress.Port, timeout.Token);
        var stream = tcp.GetStream();
        string head = $"{method} {path} HTTP/1.1\r\nHost: {api.BaseAddress.Authority}\r\nAuthorization: Bearer {token}\r\n"
            + $"Content-Type: {contentType}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), timeout.Token);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string answer;
        try
        {
            answer = await reader.ReadToEndAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            return (0, "", "no answer within 30 s: the server waits for the body");
        }

        int split = answer.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var status = Regex.Match(answer, @"^HTTP/1\.1 (\d{3})");
        return (status.Success ? int.Parse(status.Groups[1].Value) : 0, split < 0 ? answer : answer[..split], split < 0 ? "" : answer[(split + 4)..]);
    }

    private List<(string Method, string Template, string Path)> DiscoverEndpoints()
    {
        var sources = api.Api.Services.GetRequiredService<IEnumerable<EndpointDataSource>>();
        var found = new List<(string, string, string)>();
        foreach (var endpoint in sources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            string? template = endpoint.RoutePattern.RawText;
            if (template is null)
            {
                continue;
            }

            template = "/" + template.TrimStart('/');
            var methods = endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"];
            string path = Regex.Replace(template, @"\{[^}]+\}", Guid.NewGuid().ToString());
            found.AddRange(methods.Select(m => (m, template, path)));
        }

        return found.Distinct().ToList();
    }
}
