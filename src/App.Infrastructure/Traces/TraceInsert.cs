using App.Application.Traces;
using App.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace App.Infrastructure.Traces;

/// <summary>
/// Inserts a batch of traces in one statement: each column is sent as one array parameter and <c>unnest</c> turns
/// them back into rows. One round trip, no per-row tracking, and still an ordinary INSERT, so row-level security
/// checks every row against the tenant the transaction is bound to (COPY would be refused on such a table).
/// </summary>
internal static class TraceInsert
{
    private const string Sql = """
        INSERT INTO app.traces (tenant_id, id, trace_id, user_id, model_alias, provider, deployment, response_model, status,
            error_type, started_at, latency_ms, time_to_first_token_ms, input_tokens, output_tokens, token_source, cached,
            streamed, retries, fallback_used, temperature, finish_reason, classification, redactions, prompt_ciphertext,
            output_ciphertext, guard_score, guard_rules)
        SELECT t.tenant_id, t.id, t.trace_id, t.user_id, t.model_alias, t.provider, t.deployment, t.response_model, t.status,
            t.error_type, t.started_at, t.latency_ms, t.ttft, t.input_tokens, t.output_tokens, t.token_source, t.cached,
            t.streamed, t.retries, t.fallback_used, t.temperature, t.finish_reason, t.classification, t.redactions::jsonb,
            t.prompt, t.output, t.guard_score, t.guard_rules
        FROM unnest(@tenant_id, @id, @trace_id, @user_id, @model_alias, @provider, @deployment, @response_model, @status,
            @error_type, @started_at, @latency_ms, @ttft, @input_tokens, @output_tokens, @token_source, @cached,
            @streamed, @retries, @fallback_used, @temperature, @finish_reason, @classification, @redactions, @prompt, @output, @guard_score, @guard_rules)
            AS t(tenant_id, id, trace_id, user_id, model_alias, provider, deployment, response_model, status,
            error_type, started_at, latency_ms, ttft, input_tokens, output_tokens, token_source, cached,
            streamed, retries, fallback_used, temperature, finish_reason, classification, redactions, prompt, output, guard_score, guard_rules)
        """;

    public static async Task InsertAsync(AppDbContext db, IReadOnlyList<TraceRecord> rows, CancellationToken cancellationToken)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var transaction = (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Traces are inserted inside the tenant-bound transaction.");
        await using var command = new NpgsqlCommand(Sql, connection, transaction);
        void Add<T>(string name, NpgsqlDbType type, Func<TraceRecord, T> value) =>
            command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Array | type) { Value = rows.Select(value).ToArray() });

        Add("tenant_id", NpgsqlDbType.Text, r => r.TenantId);
        Add("id", NpgsqlDbType.Uuid, r => r.Id);
        Add("trace_id", NpgsqlDbType.Text, r => r.TraceId);
        Add("user_id", NpgsqlDbType.Text, r => r.UserId);
        Add("model_alias", NpgsqlDbType.Text, r => r.ModelAlias);
        Add("provider", NpgsqlDbType.Text, r => r.Provider);
        Add("deployment", NpgsqlDbType.Text, r => r.Deployment);
        Add("response_model", NpgsqlDbType.Text, r => r.ResponseModel);
        Add("status", NpgsqlDbType.Text, r => r.Status);
        Add("error_type", NpgsqlDbType.Text, r => r.ErrorType);
        Add("started_at", NpgsqlDbType.TimestampTz, r => r.StartedAt.UtcDateTime);
        Add("latency_ms", NpgsqlDbType.Double, r => r.LatencyMs);
        Add("ttft", NpgsqlDbType.Double, r => r.TimeToFirstTokenMs);
        Add("input_tokens", NpgsqlDbType.Bigint, r => r.InputTokens);
        Add("output_tokens", NpgsqlDbType.Bigint, r => r.OutputTokens);
        Add("token_source", NpgsqlDbType.Text, r => r.TokenSource);
        Add("cached", NpgsqlDbType.Boolean, r => r.Cached);
        Add("streamed", NpgsqlDbType.Boolean, r => r.Streamed);
        Add("retries", NpgsqlDbType.Integer, r => r.Retries);
        Add("fallback_used", NpgsqlDbType.Boolean, r => r.FallbackUsed);
        Add("temperature", NpgsqlDbType.Real, r => r.Temperature);
        Add("finish_reason", NpgsqlDbType.Text, r => r.FinishReason);
        Add("classification", NpgsqlDbType.Text, r => r.Classification);
        Add("redactions", NpgsqlDbType.Text, r => r.Redactions);
        Add("prompt", NpgsqlDbType.Bytea, r => r.PromptCiphertext);
        Add("output", NpgsqlDbType.Bytea, r => r.OutputCiphertext);
        Add("guard_score", NpgsqlDbType.Real, r => r.GuardScore);
        Add("guard_rules", NpgsqlDbType.Text, r => r.GuardRules);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
