using Microsoft.EntityFrameworkCore;

namespace App.Infrastructure.Persistence;

/// <summary>Lets <c>dotnet ef</c> build the model without starting the host.</summary>
internal sealed class DesignTimeFactory : Microsoft.EntityFrameworkCore.Design.IDesignTimeDbContextFactory<AppDbContext>
{
    public AppDbContext CreateDbContext(string[] args) => new(new DbContextOptionsBuilder<AppDbContext>()
        .UseNpgsql("Host=127.0.0.1;Database=design_time_only", o => o.MigrationsHistoryTable("__ef_migrations", AppDbContext.Schema))
        .UseSnakeCaseNamingConvention()
        .Options);
}
