using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace App.Infrastructure.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class DataKeyRewrap : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Re-wrapping every tenant's data keys under the active master key, so an old master key can be retired: the
            // one change ever made to a stored key, by the owner role alone (a member of app_lookup, which lends these
            // two functions its BYPASSRLS). The runtime role may call neither. A key is changed only if it is still the
            // one read, so an erasure meanwhile is never undone.
            migrationBuilder.Sql("""
                GRANT SELECT, UPDATE (wrapped_key) ON app.tenant_data_keys TO app_lookup;
                CREATE FUNCTION app.wrapped_data_keys() RETURNS TABLE (tenant_id text, id uuid, wrapped_key bytea)
                    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
                    AS $$ SELECT k.tenant_id, k.id, k.wrapped_key FROM app.tenant_data_keys k ORDER BY k.tenant_id, k.id $$;
                CREATE FUNCTION app.rewrap_data_key(p_tenant text, p_id uuid, p_old bytea, p_new bytea) RETURNS boolean
                    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
                    AS $$ WITH changed AS (
                              UPDATE app.tenant_data_keys k SET wrapped_key = p_new
                              WHERE k.tenant_id = p_tenant AND k.id = p_id AND k.wrapped_key = p_old RETURNING 1)
                          SELECT EXISTS (SELECT FROM changed) $$;
                ALTER FUNCTION app.wrapped_data_keys() OWNER TO app_lookup;
                ALTER FUNCTION app.rewrap_data_key(text, uuid, bytea, bytea) OWNER TO app_lookup;
                REVOKE ALL ON FUNCTION app.wrapped_data_keys() FROM PUBLIC;
                REVOKE ALL ON FUNCTION app.rewrap_data_key(text, uuid, bytea, bytea) FROM PUBLIC;
                """);

            // The time of a tenant's last erasure, read each time the trace writer fetches the tenant's data key, from
            // the few erasure events rather than by reading the tenant's whole audit chain.
            migrationBuilder.Sql("CREATE INDEX ix_audit_entries_erasures ON app.audit_entries (tenant_id, at) WHERE kind = 'tenant.content_erased';");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("DROP INDEX app.ix_audit_entries_erasures;");
            migrationBuilder.Sql("""
                DROP FUNCTION app.rewrap_data_key(text, uuid, bytea, bytea);
                DROP FUNCTION app.wrapped_data_keys();
                REVOKE SELECT, UPDATE (wrapped_key) ON app.tenant_data_keys FROM app_lookup;
                """);
        }
    }
}
