using App.Application.Identity;
using App.Infrastructure.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace App.UnitTests;

/// <summary>
/// The migrations gate's drift check (what <c>dotnet ef migrations has-pending-model-changes</c> runs in
/// deploy/ci/migrations.sh): the model the code builds is the one the last migration's snapshot holds, and a model
/// changed without a migration, planted here by a model customizer that adds a column, is reported as drift.
/// </summary>
public class MigrationDriftTests
{
    [Fact]
    public void TheModelHasNoChangeWithoutAMigration()
    {
        using var db = new DesignTimeFactory().CreateDbContext([]);

        Assert.False(db.Database.HasPendingModelChanges());
    }

    [Fact]
    public void AModelChangeWithoutAMigrationIsDrift()
    {
        var options = new DbContextOptionsBuilder<AppDbContext>()
            .UseNpgsql("Host=127.0.0.1;Database=design_time_only", o => o.MigrationsHistoryTable("__ef_migrations", AppDbContext.Schema))
            .UseSnakeCaseNamingConvention()
            .ReplaceService<IModelCustomizer, AddedColumn>()
            .Options;
        using var db = new AppDbContext(options);

        Assert.True(db.Database.HasPendingModelChanges());
    }

    /// <summary>Builds the model as the app does, then adds one column to the tenants: a change no migration holds.</summary>
    private sealed class AddedColumn(ModelCustomizerDependencies dependencies) : ModelCustomizer(dependencies)
    {
        public override void Customize(ModelBuilder modelBuilder, DbContext context)
        {
            base.Customize(modelBuilder, context);
            modelBuilder.Entity<Tenant>().Property<string>("PlantedColumn");
        }
    }
}
