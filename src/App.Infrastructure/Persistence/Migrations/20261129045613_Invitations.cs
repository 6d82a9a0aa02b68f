using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace App.Infrastructure.Persistence.Migrations
{
    /// <summary>
    /// Invitations into a tenant, under row-level security like every tenant table, and the one lookup they need
    /// before the tenant is known: which tenant a presented code belongs to (run as app_lookup).
    /// </summary>
    public partial class Invitations : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "invitations",
                schema: "app",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    tenant_id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    code_hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    scopes = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: false),
                    created_by = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    expires_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    accepted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    accepted_by = table.Column<Guid>(type: "uuid", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_invitations", x => x.id);
                    table.ForeignKey(
                        name: "fk_invitations_tenants_tenant_id",
                        column: x => x.tenant_id,
                        principalSchema: "app",
                        principalTable: "tenants",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_invitations_code_hash",
                schema: "app",
                table: "invitations",
                column: "code_hash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_invitations_tenant_id_created_at",
                schema: "app",
                table: "invitations",
                columns: new[] { "tenant_id", "created_at" });

            migrationBuilder.Sql("""
                ALTER TABLE app.invitations ENABLE ROW LEVEL SECURITY;
                ALTER TABLE app.invitations FORCE ROW LEVEL SECURITY;
                CREATE POLICY tenant_isolation ON app.invitations
                    USING (tenant_id = current_setting('app.tenant_id', true))
                    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

                GRANT SELECT ON app.invitations TO app_lookup;
                CREATE FUNCTION app.tenant_of_invitation(p_hash bytea) RETURNS text
                    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
                    AS $$ SELECT tenant_id FROM app.invitations WHERE code_hash = p_hash $$;
                ALTER FUNCTION app.tenant_of_invitation(bytea) OWNER TO app_lookup;
                REVOKE ALL ON FUNCTION app.tenant_of_invitation(bytea) FROM PUBLIC;
                DO $$ BEGIN
                    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_runtime') THEN
                        GRANT EXECUTE ON FUNCTION app.tenant_of_invitation(bytea) TO app_runtime;
                    END IF;
                END $$;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP FUNCTION IF EXISTS app.tenant_of_invitation(bytea);");
            migrationBuilder.DropTable(
                name: "invitations",
                schema: "app");
        }
    }
}
