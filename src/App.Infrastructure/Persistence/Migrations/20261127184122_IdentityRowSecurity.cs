using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace App.Infrastructure.Persistence.Migrations
{
    /// <summary>
    /// Row-level security on the identity tables, and the four narrow lookups that must run before a request's
    /// tenant is known (they return one value each and run as app_lookup, which bypasses row security).
    /// </summary>
    public partial class IdentityRowSecurity : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                ALTER TABLE app.users ENABLE ROW LEVEL SECURITY;
                ALTER TABLE app.users FORCE ROW LEVEL SECURITY;
                CREATE POLICY tenant_isolation ON app.users
                    USING (tenant_id = current_setting('app.tenant_id', true))
                    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

                ALTER TABLE app.passkey_credentials ENABLE ROW LEVEL SECURITY;
                ALTER TABLE app.passkey_credentials FORCE ROW LEVEL SECURITY;
                CREATE POLICY tenant_isolation ON app.passkey_credentials
                    USING (tenant_id = current_setting('app.tenant_id', true))
                    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

                ALTER TABLE app.refresh_tokens ENABLE ROW LEVEL SECURITY;
                ALTER TABLE app.refresh_tokens FORCE ROW LEVEL SECURITY;
                CREATE POLICY tenant_isolation ON app.refresh_tokens
                    USING (tenant_id = current_setting('app.tenant_id', true))
                    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

                ALTER TABLE app.tenants ENABLE ROW LEVEL SECURITY;
                ALTER TABLE app.tenants FORCE ROW LEVEL SECURITY;
                CREATE POLICY tenant_isolation ON app.tenants
                    USING (id = current_setting('app.tenant_id', true))
                    WITH CHECK (id = current_setting('app.tenant_id', true));

                GRANT SELECT ON app.refresh_tokens, app.passkey_credentials, app.tenants TO app_lookup;

                CREATE FUNCTION app.tenant_of_refresh_token(p_hash bytea) RETURNS text
                    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
                    AS $$ SELECT tenant_id FROM app.refresh_tokens WHERE token_hash = p_hash $$;
                CREATE FUNCTION app.tenant_of_credential(p_id bytea) RETURNS text
                    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
                    AS $$ SELECT tenant_id FROM app.passkey_credentials WHERE id = p_id $$;
                CREATE FUNCTION app.tenant_exists(p_id text) RETURNS boolean
                    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
                    AS $$ SELECT EXISTS (SELECT 1 FROM app.tenants WHERE id = p_id) $$;
                CREATE FUNCTION app.credential_exists(p_id bytea) RETURNS boolean
                    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
                    AS $$ SELECT EXISTS (SELECT 1 FROM app.passkey_credentials WHERE id = p_id) $$;

                ALTER FUNCTION app.tenant_of_refresh_token(bytea) OWNER TO app_lookup;
                ALTER FUNCTION app.tenant_of_credential(bytea) OWNER TO app_lookup;
                ALTER FUNCTION app.tenant_exists(text) OWNER TO app_lookup;
                ALTER FUNCTION app.credential_exists(bytea) OWNER TO app_lookup;
                REVOKE ALL ON FUNCTION app.tenant_of_refresh_token(bytea), app.tenant_of_credential(bytea),
                    app.tenant_exists(text), app.credential_exists(bytea) FROM PUBLIC;
                DO $$ BEGIN
                    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'app_runtime') THEN
                        GRANT EXECUTE ON FUNCTION app.tenant_of_refresh_token(bytea), app.tenant_of_credential(bytea),
                            app.tenant_exists(text), app.credential_exists(bytea) TO app_runtime;
                    END IF;
                END $$;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP FUNCTION IF EXISTS app.tenant_of_refresh_token(bytea), app.tenant_of_credential(bytea),
                    app.tenant_exists(text), app.credential_exists(bytea);
                DROP POLICY IF EXISTS tenant_isolation ON app.users;
                DROP POLICY IF EXISTS tenant_isolation ON app.passkey_credentials;
                DROP POLICY IF EXISTS tenant_isolation ON app.refresh_tokens;
                DROP POLICY IF EXISTS tenant_isolation ON app.tenants;
                ALTER TABLE app.users DISABLE ROW LEVEL SECURITY;
                ALTER TABLE app.passkey_credentials DISABLE ROW LEVEL SECURITY;
                ALTER TABLE app.refresh_tokens DISABLE ROW LEVEL SECURITY;
                ALTER TABLE app.tenants DISABLE ROW LEVEL SECURITY;
                """);
        }
    }
}
