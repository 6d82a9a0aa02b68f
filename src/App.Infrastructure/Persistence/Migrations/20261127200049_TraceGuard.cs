using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace App.Infrastructure.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class TraceGuard : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "guard_rules",
                schema: "app",
                table: "traces",
                type: "character varying(400)",
                maxLength: 400,
                nullable: true);

            migrationBuilder.AddColumn<float>(
                name: "guard_score",
                schema: "app",
                table: "traces",
                type: "real",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "guard_rules",
                schema: "app",
                table: "traces");

            migrationBuilder.DropColumn(
                name: "guard_score",
                schema: "app",
                table: "traces");
        }
    }
}
