using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace App.Infrastructure.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class Traces : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "traces",
                schema: "app",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    tenant_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    trace_id = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    user_id = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    model_alias = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    provider = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    deployment = table.Column<string>(type: "character varying(80)", maxLength: 80, nullable: true),
                    response_model = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    error_type = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    latency_ms = table.Column<double>(type: "double precision", nullable: false),
                    time_to_first_token_ms = table.Column<double>(type: "double precision", nullable: true),
                    input_tokens = table.Column<long>(type: "bigint", nullable: true),
                    output_tokens = table.Column<long>(type: "bigint", nullable: true),
                    token_source = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    cached = table.Column<bool>(type: "boolean", nullable: false),
                    streamed = table.Column<bool>(type: "boolean", nullable: false),
                    retries = table.Column<int>(type: "integer", nullable: false),
                    fallback_used = table.Column<bool>(type: "boolean", nullable: false),
                    temperature = table.Column<float>(type: "real", nullable: true),
                    finish_reason = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                    classification = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    redactions = table.Column<string>(type: "jsonb", nullable: true),
                    prompt_ciphertext = table.Column<byte[]>(type: "bytea", nullable: true),
                    output_ciphertext = table.Column<byte[]>(type: "bytea", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_traces", x => new { x.tenant_id, x.id });
                });

            migrationBuilder.CreateIndex(
                name: "ix_traces_tenant_id_started_at_id",
                schema: "app",
                table: "traces",
                columns: new[] { "tenant_id", "started_at", "id" },
                descending: new[] { false, true, true });

            // Row-level security: enabled and forced (the owner too), rows visible and writable only for the tenant
            // the transaction is bound to (TenantInterceptor). No tenant set: current_setting is empty, no rows.
            migrationBuilder.Sql("""
                ALTER TABLE app.traces ENABLE ROW LEVEL SECURITY;
                ALTER TABLE app.traces FORCE ROW LEVEL SECURITY;
                CREATE POLICY tenant_isolation ON app.traces
                    USING (tenant_id = current_setting('app.tenant_id', true))
                    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "traces",
                schema: "app");
        }
    }
}
