using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace App.Infrastructure.Persistence.Migrations
{
    /// <summary>Jobs: state and results of background chat requests, under row-level security.</summary>
    public partial class Jobs : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "jobs",
                schema: "app",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    tenant_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    user_id = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    model = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    item_count = table.Column<int>(type: "integer", nullable: false),
                    items_done = table.Column<int>(type: "integer", nullable: false),
                    attempts = table.Column<int>(type: "integer", nullable: false),
                    max_attempts = table.Column<int>(type: "integer", nullable: false),
                    duplicate_deliveries = table.Column<int>(type: "integer", nullable: false),
                    idempotency_key = table.Column<string>(type: "character varying(255)", maxLength: 255, nullable: true),
                    request_hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    request_ciphertext = table.Column<byte[]>(type: "bytea", nullable: false),
                    result_ciphertext = table.Column<byte[]>(type: "bytea", nullable: true),
                    error_type = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                    error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    completed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    next_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    heartbeat_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    worker = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_jobs", x => new { x.tenant_id, x.id });
                });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_tenant_id_idempotency_key",
                schema: "app",
                table: "jobs",
                columns: new[] { "tenant_id", "idempotency_key" },
                unique: true,
                filter: "idempotency_key IS NOT NULL");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_tenant_id_user_id_created_at",
                schema: "app",
                table: "jobs",
                columns: new[] { "tenant_id", "user_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_updated_at",
                schema: "app",
                table: "jobs",
                column: "updated_at",
                filter: "status IN ('queued', 'running')");

            // Row-level security like every tenant table, and the one cross-tenant read of jobs: the sweeper's list of
            // unfinished jobs that show no sign of life (ids only; each is then claimed bound to its tenant).
            migrationBuilder.Sql("""
                ALTER TABLE app.jobs ENABLE ROW LEVEL SECURITY;
                ALTER TABLE app.jobs FORCE ROW LEVEL SECURITY;
                CREATE POLICY tenant_isolation ON app.jobs
                    USING (tenant_id = current_setting('app.tenant_id', true))
                    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

                GRANT SELECT ON app.jobs TO app_lookup;
                CREATE FUNCTION app.stale_jobs(p_before timestamptz, p_limit integer)
                    RETURNS TABLE (tenant_id text, id uuid)
                    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
                    AS $$ SELECT j.tenant_id, j.id FROM app.jobs j
                          WHERE j.status IN ('queued', 'running')
                            AND j.updated_at < p_before
                            AND coalesce(j.heartbeat_at, j.updated_at) < p_before
                            AND (j.next_attempt_at IS NULL OR j.next_attempt_at < p_before)
                          ORDER BY j.updated_at LIMIT least(p_limit, 1000) $$;
                ALTER FUNCTION app.stale_jobs(timestamptz, integer) OWNER TO app_lookup;
                REVOKE ALL ON FUNCTION app.stale_jobs(timestamptz, integer) FROM PUBLIC;
                DO $$ BEGIN
                    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_runtime') THEN
                        GRANT EXECUTE ON FUNCTION app.stale_jobs(timestamptz, integer) TO app_runtime;
                    END IF;
                END $$;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP FUNCTION IF EXISTS app.stale_jobs(timestamptz, integer);");
            migrationBuilder.DropTable(
                name: "jobs",
                schema: "app");
        }
    }
}
