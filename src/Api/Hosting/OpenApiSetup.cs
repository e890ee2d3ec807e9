using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json.Nodes;
using CouponBooks.Api.Coupons;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace CouponBooks.Api.Hosting;

internal static class OpenApiSetup
{
    private const string BearerScheme = "Bearer";

    public static IServiceCollection AddApiDocumentation(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "CouponBooks API",
                Version = "v1",
                Description = "Coupon books: campaigns of unique codes, assigned to users within limits, locked during checkout and redeemed. "
                    + "Errors are `application/problem+json` with a `code` member. Log in with POST /api/v1/auth/login, then press Authorize and paste the access token.",
            });
            options.AddSecurityDefinition(BearerScheme, new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "The accessToken from POST /api/v1/auth/login.",
            });
            // Members are never omitted (API.md); those declared nullable are the ones that may be null.
            options.SupportNonNullableReferenceTypes();
            options.OperationFilter<BearerRequirementFilter>();
            options.OperationFilter<IdempotencyKeyFilter>();
            options.OperationFilter<DeclaredBodyFilter>();
            options.OperationFilter<CommonAnswersFilter>();
            options.SchemaFilter<ProblemSchemaFilter>();
            options.SchemaFilter<AllowedValuesFilter>();
            options.ParameterFilter<AllowedValuesFilter>();
            string xml = Path.Combine(AppContext.BaseDirectory, "CouponBooks.Api.xml");
            if (File.Exists(xml))
            {
                options.IncludeXmlComments(xml);
            }
        });
        return services;
    }

    /// <summary>Marks the operations that need a token, so Swagger UI sends it to those.</summary>
    private sealed class BearerRequirementFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            var metadata = context.ApiDescription.ActionDescriptor.EndpointMetadata;
            if (!metadata.OfType<IAuthorizeData>().Any() || metadata.OfType<IAllowAnonymous>().Any())
            {
                return;
            }

            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [],
            });
        }
    }

    /// <summary>Lists the <c>Idempotency-Key</c> header on the operations that take one, so Swagger UI offers a field for it.</summary>
    private sealed class IdempotencyKeyFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (!context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<CouponCommands.IdempotencyKeyMetadata>().Any())
            {
                return;
            }

            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = CouponCommands.IdempotencyHeader,
                In = ParameterLocation.Header,
                Required = false,
                Description = "A repeat with the same key, path and JSON body within 24 h answers the first status and body and changes nothing; "
                    + "the same key with another path or body is 422 `idempotency-key-reused`. 1..255 characters.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = CouponCommands.MaxKeyLength },
            });
        }
    }

    /// <summary>
    /// The body an endpoint declares with Accepts where it reads the body itself: a merge patch (bound as JSON, documented
    /// by its members) and the CSV upload (a <c>text/csv</c> body, or the multipart field <c>file</c>).
    /// </summary>
    private sealed class DeclaredBodyFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            var accepts = context.ApiDescription.ActionDescriptor.EndpointMetadata.OfType<IAcceptsMetadata>().LastOrDefault();
            if (accepts?.RequestType is not { } type || operation.RequestBody is not OpenApiRequestBody body)
            {
                return;
            }

            body.Content = new Dictionary<string, IOpenApiMediaType>();
            foreach (string contentType in accepts.ContentTypes)
            {
                body.Content[contentType] = new OpenApiMediaType { Schema = Schema(contentType, type, context) };
            }
        }

        private static IOpenApiSchema Schema(string contentType, Type type, OperationFilterContext context) => contentType switch
        {
            "multipart/form-data" => new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Properties = new Dictionary<string, IOpenApiSchema> { ["file"] = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } },
                Required = new HashSet<string> { "file" },
            },
            "text/csv" => new OpenApiSchema { Type = JsonSchemaType.String, Description = "One code per line; an optional first line `code`." },
            _ => context.SchemaGenerator.GenerateSchema(type, context.SchemaRepository),
        };
    }

    /// <summary>What every operation under /api/v1 may answer besides its own: 503 when storage or the cluster is out of reach; and the bounds of <c>limit</c>.</summary>
    private sealed class CommonAnswersFilter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            if (context.ApiDescription.RelativePath?.StartsWith("api/v1/", StringComparison.Ordinal) != true)
            {
                return;
            }

            operation.Responses ??= [];
            operation.Responses.TryAdd("503", new OpenApiResponse
            {
                Description = "`service-unavailable`: the database or the cluster cannot be reached; see `Retry-After`.",
                Content = new Dictionary<string, IOpenApiMediaType>
                {
                    ["application/problem+json"] = new OpenApiMediaType { Schema = context.SchemaGenerator.GenerateSchema(typeof(ProblemDetails), context.SchemaRepository) },
                },
            });

            foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
            {
                if (parameter is { Name: "limit", In: ParameterLocation.Query })
                {
                    parameter.Description ??= "Items per page, 1..1000 (default 50).";
                    parameter.Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1", Maximum = "1000", Default = 50 };
                }
            }
        }
    }

    /// <summary>The members every problem of this API carries besides RFC 9457's: <c>code</c>, <c>traceId</c>, and for validation <c>errors</c>.</summary>
    private sealed class ProblemSchemaFilter : ISchemaFilter
    {
        public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
        {
            if (!typeof(ProblemDetails).IsAssignableFrom(context.Type) || schema is not OpenApiSchema problem)
            {
                return;
            }

            problem.Properties ??= new Dictionary<string, IOpenApiSchema>();
            problem.Properties["code"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The error's slug (API.md's error table), e.g. `book-exhausted`." };
            problem.Properties["traceId"] = new OpenApiSchema { Type = JsonSchemaType.String, Description = "The request's W3C trace id, as its log lines carry it." };
            problem.Properties["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object | JsonSchemaType.Null,
                Description = "400 `validation-failed` only: messages by member or parameter.",
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
            };
        }
    }

    /// <summary>The values a string member or query parameter takes (<see cref="AllowedValuesAttribute"/>), as an enum, so Swagger UI offers a list.</summary>
    private sealed class AllowedValuesFilter : ISchemaFilter, IParameterFilter
    {
        public void Apply(IOpenApiSchema schema, SchemaFilterContext context) =>
            Describe(schema, context.MemberInfo?.GetCustomAttribute<AllowedValuesAttribute>());

        public void Apply(IOpenApiParameter parameter, ParameterFilterContext context) =>
            Describe(parameter.Schema, context.ParameterInfo?.GetCustomAttribute<AllowedValuesAttribute>());

        private static void Describe(IOpenApiSchema? schema, AllowedValuesAttribute? allowed)
        {
            if (allowed is not null && schema is OpenApiSchema described)
            {
                described.Enum = [.. allowed.Values.Select(value => (JsonNode)JsonValue.Create(value?.ToString() ?? ""))];
            }
        }
    }
}
