using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace App.Infrastructure.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class IdempotencyPerUser : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_jobs_tenant_id_idempotency_key",
                schema: "app",
                table: "jobs");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_tenant_id_user_id_idempotency_key",
                schema: "app",
                table: "jobs",
                columns: new[] { "tenant_id", "user_id", "idempotency_key" },
                unique: true,
                filter: "idempotency_key IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_jobs_tenant_id_user_id_idempotency_key",
                schema: "app",
                table: "jobs");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_tenant_id_idempotency_key",
                schema: "app",
                table: "jobs",
                columns: new[] { "tenant_id", "idempotency_key" },
                unique: true,
                filter: "idempotency_key IS NOT NULL");
        }
    }
}
