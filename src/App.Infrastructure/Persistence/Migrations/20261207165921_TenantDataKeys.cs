using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace App.Infrastructure.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class TenantDataKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "tenant_data_keys",
                schema: "app",
                columns: table => new
                {
                    tenant_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    wrapped_key = table.Column<byte[]>(type: "bytea", nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_tenant_data_keys", x => new { x.tenant_id, x.id });
                });

            // Row security like every tenant table; a key is made and destroyed, never changed, so the service may not
            // update one.
            migrationBuilder.Sql("""
                ALTER TABLE app.tenant_data_keys ENABLE ROW LEVEL SECURITY;
                ALTER TABLE app.tenant_data_keys FORCE ROW LEVEL SECURITY;
                CREATE POLICY tenant_isolation ON app.tenant_data_keys
                    USING (tenant_id = current_setting('app.tenant_id', true))
                    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
                DO $$ BEGIN
                    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_runtime') THEN
                        REVOKE UPDATE, TRUNCATE ON app.tenant_data_keys FROM app_runtime;
                    END IF;
                END $$;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "tenant_data_keys",
                schema: "app");
        }
    }
}
