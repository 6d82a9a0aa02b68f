using App.Application.Traces;
using App.Infrastructure.Persistence;
using Npgsql;
using NpgsqlTypes;

namespace App.Infrastructure.Traces;

/// <summary>
/// Inserts a batch of traces in one statement: each column is sent as one array parameter and <c>unnest</c> turns
/// them back into rows. No per-row tracking, and still an ordinary INSERT, so row-level security checks every row
/// against the tenant the transaction is bound to (COPY would be refused on such a table). It runs in the same round
/// trip as the binding of the tenant (<see cref="TenantData.ExecuteAsync"/>). A trace already stored is skipped: a batch
/// whose commit went unanswered (PostgreSQL stalled after committing) is sent again, and must not look refused.
/// </summary>
internal static class TraceInsert
{
    private const string Sql = """
        INSERT INTO app.traces (tenant_id, id, trace_id, user_id, model_alias, provider, deployment, response_model, status,
            error_type, started_at, latency_ms, time_to_first_token_ms, input_tokens, output_tokens, token_source, cached,
            streamed, retries, fallback_used, temperature, finish_reason, classification, redactions, prompt_ciphertext,
            output_ciphertext, guard_score, guard_rules, cost_nano_usd)
        SELECT t.tenant_id, t.id, t.trace_id, t.user_id, t.model_alias, t.provider, t.deployment, t.response_model, t.status,
            t.error_type, t.started_at, t.latency_ms, t.ttft, t.input_tokens, t.output_tokens, t.token_source, t.cached,
            t.streamed, t.retries, t.fallback_used, t.temperature, t.finish_reason, t.classification, t.redactions::jsonb,
            t.prompt, t.output, t.guard_score, t.guard_rules, t.cost_nano_usd
        FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
            $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)
            AS t(tenant_id, id, trace_id, user_id, model_alias, provider, deployment, response_model, status,
            error_type, started_at, latency_ms, ttft, input_tokens, output_tokens, token_source, cached,
            streamed, retries, fallback_used, temperature, finish_reason, classification, redactions, prompt, output, guard_score, guard_rules, cost_nano_usd)
        ON CONFLICT (tenant_id, id, started_at) DO NOTHING
        """;

    /// <summary>The insert of <paramref name="rows"/>, to run with the tenant bound (<see cref="TenantData.ExecuteAsync"/>).</summary>
    public static NpgsqlBatchCommand Command(IReadOnlyList<TraceRecord> rows)
    {
        var command = new NpgsqlBatchCommand(Sql);
        // Positional ($1, $2, ...): the order of the calls below is the order of the columns in unnest above.
        void Add<T>(NpgsqlDbType type, Func<TraceRecord, T> value) =>
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | type, Value = rows.Select(value).ToArray() });

        Add(NpgsqlDbType.Text, r => r.TenantId); // $1 tenant_id
        Add(NpgsqlDbType.Uuid, r => r.Id); // $2 id
        Add(NpgsqlDbType.Text, r => r.TraceId); // $3 trace_id
        Add(NpgsqlDbType.Text, r => r.UserId); // $4 user_id
        Add(NpgsqlDbType.Text, r => r.ModelAlias); // $5 model_alias
        Add(NpgsqlDbType.Text, r => r.Provider); // $6 provider
        Add(NpgsqlDbType.Text, r => r.Deployment); // $7 deployment
        Add(NpgsqlDbType.Text, r => r.ResponseModel); // $8 response_model
        Add(NpgsqlDbType.Text, r => r.Status); // $9 status
        Add(NpgsqlDbType.Text, r => r.ErrorType); // $10 error_type
        Add(NpgsqlDbType.TimestampTz, r => r.StartedAt.UtcDateTime); // $11 started_at
        Add(NpgsqlDbType.Double, r => r.LatencyMs); // $12 latency_ms
        Add(NpgsqlDbType.Double, r => r.TimeToFirstTokenMs); // $13 ttft
        Add(NpgsqlDbType.Bigint, r => r.InputTokens); // $14 input_tokens
        Add(NpgsqlDbType.Bigint, r => r.OutputTokens); // $15 output_tokens
        Add(NpgsqlDbType.Text, r => r.TokenSource); // $16 token_source
        Add(NpgsqlDbType.Boolean, r => r.Cached); // $17 cached
        Add(NpgsqlDbType.Boolean, r => r.Streamed); // $18 streamed
        Add(NpgsqlDbType.Integer, r => r.Retries); // $19 retries
        Add(NpgsqlDbType.Boolean, r => r.FallbackUsed); // $20 fallback_used
        Add(NpgsqlDbType.Real, r => r.Temperature); // $21 temperature
        Add(NpgsqlDbType.Text, r => r.FinishReason); // $22 finish_reason
        Add(NpgsqlDbType.Text, r => r.Classification); // $23 classification
        Add(NpgsqlDbType.Text, r => r.Redactions); // $24 redactions
        Add(NpgsqlDbType.Bytea, r => r.PromptCiphertext); // $25 prompt
        Add(NpgsqlDbType.Bytea, r => r.OutputCiphertext); // $26 output
        Add(NpgsqlDbType.Real, r => r.GuardScore); // $27 guard_score
        Add(NpgsqlDbType.Text, r => r.GuardRules); // $28 guard_rules
        Add(NpgsqlDbType.Bigint, r => r.CostNanoUsd); // $29 cost_nano_usd
        return command;
    }
}
