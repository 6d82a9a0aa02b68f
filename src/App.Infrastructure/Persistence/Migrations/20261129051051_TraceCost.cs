using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace App.Infrastructure.Persistence.Migrations
{
    /// <summary>Each trace's cost, priced from its tokens when it is written (nano-dollars).</summary>
    public partial class TraceCost : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "cost_nano_usd",
                schema: "app",
                table: "traces",
                type: "bigint",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "cost_nano_usd",
                schema: "app",
                table: "traces");
        }
    }
}
