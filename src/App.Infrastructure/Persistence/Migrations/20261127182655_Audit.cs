using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace App.Infrastructure.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class Audit : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "audit_entries",
                schema: "app",
                columns: table => new
                {
                    tenant_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    sequence = table.Column<long>(type: "bigint", nullable: false),
                    at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    kind = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    actor = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    subject = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                    data = table.Column<string>(type: "character varying(4000)", maxLength: 4000, nullable: true),
                    previous_hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    hash = table.Column<byte[]>(type: "bytea", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_audit_entries", x => new { x.tenant_id, x.sequence });
                });

            // Append-only: the runtime role may only read and add; a trigger refuses UPDATE, DELETE and TRUNCATE
            // for everyone (a superuser can disable it, which is what the external checkpoints are for).
            migrationBuilder.Sql("""
                ALTER TABLE app.audit_entries ENABLE ROW LEVEL SECURITY;
                ALTER TABLE app.audit_entries FORCE ROW LEVEL SECURITY;
                CREATE POLICY tenant_isolation ON app.audit_entries
                    USING (tenant_id = current_setting('app.tenant_id', true))
                    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
                REVOKE UPDATE, DELETE, TRUNCATE ON app.audit_entries FROM PUBLIC;
                DO $$ BEGIN
                    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_runtime') THEN
                        REVOKE UPDATE, DELETE, TRUNCATE ON app.audit_entries FROM app_runtime;
                        GRANT SELECT, INSERT ON app.audit_entries TO app_runtime;
                    END IF;
                END $$;
                CREATE FUNCTION app.audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
                BEGIN
                    RAISE EXCEPTION 'app.audit_entries is append-only (% refused)', TG_OP USING ERRCODE = '42501';
                END $fn$;
                CREATE TRIGGER audit_entries_no_update_delete BEFORE UPDATE OR DELETE ON app.audit_entries
                    FOR EACH ROW EXECUTE FUNCTION app.audit_entries_append_only();
                CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON app.audit_entries
                    FOR EACH STATEMENT EXECUTE FUNCTION app.audit_entries_append_only();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP FUNCTION IF EXISTS app.audit_entries_append_only() CASCADE;");
            migrationBuilder.DropTable(
                name: "audit_entries",
                schema: "app");
        }
    }
}
