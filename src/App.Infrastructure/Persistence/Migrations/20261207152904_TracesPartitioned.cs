using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace App.Infrastructure.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class TracesPartitioned : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // The table becomes a partitioned one, a partition per month of started_at (UTC), so retention drops whole
            // partitions instead of deleting rows. Each partition gets row security and the tenant policy of its own: the
            // runtime role may select from a partition directly (the schema's default privileges), and a partition
            // without them would show every tenant's rows. Rows outside every month partition land in the default one.
            migrationBuilder.Sql("""
                ALTER TABLE app.traces RENAME TO traces_before_partitioning;
                ALTER TABLE app.traces_before_partitioning RENAME CONSTRAINT pk_traces TO pk_traces_before_partitioning;
                ALTER INDEX app.ix_traces_tenant_id_started_at_id RENAME TO ix_traces_before_partitioning;
                CREATE TABLE app.traces (LIKE app.traces_before_partitioning INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (started_at);
                ALTER TABLE app.traces ADD CONSTRAINT pk_traces PRIMARY KEY (tenant_id, id, started_at);
                CREATE INDEX ix_traces_tenant_id_started_at_id ON app.traces (tenant_id, started_at DESC, id DESC);

                CREATE FUNCTION app.guard_trace_partition(name text) RETURNS void LANGUAGE plpgsql AS $guard$
                BEGIN
                    EXECUTE format('ALTER TABLE app.%I ENABLE ROW LEVEL SECURITY', name);
                    EXECUTE format('ALTER TABLE app.%I FORCE ROW LEVEL SECURITY', name);
                    EXECUTE format('CREATE POLICY tenant_isolation ON app.%I USING (tenant_id = current_setting(''app.tenant_id'', true)) WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', name);
                END
                $guard$;
                REVOKE ALL ON FUNCTION app.guard_trace_partition(text) FROM PUBLIC;

                CREATE FUNCTION app.ensure_trace_partition(month timestamptz) RETURNS text LANGUAGE plpgsql AS $ensure$
                DECLARE
                    first timestamp := date_trunc('month', month AT TIME ZONE 'UTC');
                    name text := 'traces_' || to_char(first, 'YYYY_MM');
                BEGIN
                    IF to_regclass(format('app.%I', name)) IS NULL THEN
                        EXECUTE format('CREATE TABLE app.%I PARTITION OF app.traces FOR VALUES FROM (%L) TO (%L)',
                            name, first AT TIME ZONE 'UTC', (first + interval '1 month') AT TIME ZONE 'UTC');
                        PERFORM app.guard_trace_partition(name);
                    END IF;
                    RETURN name;
                END
                $ensure$;
                REVOKE ALL ON FUNCTION app.ensure_trace_partition(timestamptz) FROM PUBLIC;

                CREATE FUNCTION app.drop_trace_partition(name text) RETURNS void LANGUAGE plpgsql AS $drop$
                BEGIN
                    IF NOT EXISTS (SELECT FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                                   WHERE i.inhparent = 'app.traces'::regclass AND c.relname = name) THEN
                        RAISE EXCEPTION 'app.% is not a partition of app.traces', name;
                    END IF;
                    EXECUTE format('DROP TABLE app.%I', name);
                END
                $drop$;
                REVOKE ALL ON FUNCTION app.drop_trace_partition(text) FROM PUBLIC;

                -- Row security is forced on the owner too: off on the old table while its months are read and its rows
                -- copied, and on for the new one only once they are in, or the copy would see and store nothing.
                ALTER TABLE app.traces_before_partitioning DISABLE ROW LEVEL SECURITY;
                CREATE TABLE app.traces_default PARTITION OF app.traces DEFAULT;
                DO $fill$
                BEGIN
                    PERFORM app.guard_trace_partition('traces_default');
                    PERFORM app.ensure_trace_partition(m)
                    FROM (SELECT DISTINCT date_trunc('month', started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS m FROM app.traces_before_partitioning
                          UNION SELECT now() UNION SELECT now() + interval '1 month' UNION SELECT now() + interval '2 months') AS months;
                END
                $fill$;
                INSERT INTO app.traces SELECT * FROM app.traces_before_partitioning;
                DROP TABLE app.traces_before_partitioning;
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
            migrationBuilder.Sql("""
                ALTER TABLE app.traces RENAME TO traces_partitioned;
                ALTER TABLE app.traces_partitioned RENAME CONSTRAINT pk_traces TO pk_traces_partitioned;
                ALTER INDEX app.ix_traces_tenant_id_started_at_id RENAME TO ix_traces_partitioned;
                CREATE TABLE app.traces (LIKE app.traces_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
                ALTER TABLE app.traces ADD CONSTRAINT pk_traces PRIMARY KEY (tenant_id, id);
                CREATE INDEX ix_traces_tenant_id_started_at_id ON app.traces (tenant_id, started_at DESC, id DESC);
                ALTER TABLE app.traces_partitioned DISABLE ROW LEVEL SECURITY;
                INSERT INTO app.traces SELECT * FROM app.traces_partitioned;
                DROP TABLE app.traces_partitioned;
                ALTER TABLE app.traces ENABLE ROW LEVEL SECURITY;
                ALTER TABLE app.traces FORCE ROW LEVEL SECURITY;
                CREATE POLICY tenant_isolation ON app.traces
                    USING (tenant_id = current_setting('app.tenant_id', true))
                    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
                DROP FUNCTION app.drop_trace_partition(text);
                DROP FUNCTION app.ensure_trace_partition(timestamptz);
                DROP FUNCTION app.guard_trace_partition(text);
                """);
        }
    }
}
