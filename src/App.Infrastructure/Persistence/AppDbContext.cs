using App.Application.Audit;
using App.Application.Identity;
using App.Application.Jobs;
using App.Application.OpenAi;
using App.Application.Privacy;
using App.Application.Traces;
using Microsoft.EntityFrameworkCore;

namespace App.Infrastructure.Persistence;

/// <summary>
/// Everything the service stores, in schema <c>app</c>. Migrations run as the owner role; the service connects as
/// a runtime role that owns nothing (deploy/postgres/bootstrap.sql).
/// </summary>
public sealed class AppDbContext : DbContext
{
    public const string Schema = "app";

    public AppDbContext(DbContextOptions<AppDbContext> options)
        : base(options)
    {
        // EF skips the transaction for a single-statement SaveChanges; the tenant binding needs one every time.
        Database.AutoTransactionBehavior = AutoTransactionBehavior.Always;
    }

    public DbSet<Tenant> Tenants => Set<Tenant>();

    public DbSet<User> Users => Set<User>();

    public DbSet<PasskeyCredential> PasskeyCredentials => Set<PasskeyCredential>();

    public DbSet<RefreshToken> RefreshTokens => Set<RefreshToken>();

    public DbSet<Invitation> Invitations => Set<Invitation>();

    public DbSet<SigningKey> SigningKeys => Set<SigningKey>();

    public DbSet<TraceRecord> Traces => Set<TraceRecord>();

    public DbSet<AuditEntry> AuditEntries => Set<AuditEntry>();

    public DbSet<Job> Jobs => Set<Job>();

    public DbSet<TenantDataKey> TenantDataKeys => Set<TenantDataKey>();

    /// <summary>
    /// The tenant this unit of work acts for. <see cref="TenantInterceptor"/> sets it, transaction-locally, as
    /// <c>app.tenant_id</c> at the start of every transaction; row-level security does the rest. Null: no rows.
    /// </summary>
    public string? TenantId { get; set; }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        ArgumentNullException.ThrowIfNull(modelBuilder);
        modelBuilder.HasDefaultSchema(Schema);

        modelBuilder.Entity<Tenant>(e =>
        {
            e.HasKey(t => t.Id);
            e.Property(t => t.Id).HasMaxLength(64);
            e.Property(t => t.Name).HasMaxLength(200);
        });

        modelBuilder.Entity<User>(e =>
        {
            e.HasKey(u => u.Id);
            e.Property(u => u.TenantId).HasMaxLength(64);
            e.Property(u => u.UserName).HasMaxLength(64);
            e.Property(u => u.DisplayName).HasMaxLength(200);
            e.Property(u => u.Scopes).HasMaxLength(1000);
            e.HasIndex(u => new { u.TenantId, u.UserName }).IsUnique();
            e.HasIndex(u => u.UserHandle).IsUnique();
            e.HasOne<Tenant>().WithMany().HasForeignKey(u => u.TenantId).OnDelete(DeleteBehavior.Restrict);
        });

        modelBuilder.Entity<PasskeyCredential>(e =>
        {
            e.HasKey(c => c.Id);
            e.Property(c => c.TenantId).HasMaxLength(64);
            e.Property(c => c.Transports).HasMaxLength(200);
            e.HasIndex(c => c.UserId);
            e.HasOne<User>().WithMany().HasForeignKey(c => c.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<RefreshToken>(e =>
        {
            e.HasKey(t => t.Id);
            e.Property(t => t.TenantId).HasMaxLength(64);
            e.Property(t => t.Scopes).HasMaxLength(1000);
            e.Property(t => t.RevokedReason).HasMaxLength(64);
            e.HasIndex(t => t.TokenHash).IsUnique();
            e.HasIndex(t => t.FamilyId);
            e.HasIndex(t => t.UserId);
            e.HasOne<User>().WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<Invitation>(e =>
        {
            e.HasKey(i => i.Id);
            e.Property(i => i.TenantId).HasMaxLength(64);
            e.Property(i => i.Scopes).HasMaxLength(1000);
            e.Property(i => i.CreatedBy).HasMaxLength(128);
            e.HasIndex(i => i.CodeHash).IsUnique();
            e.HasIndex(i => new { i.TenantId, i.CreatedAt });
            e.HasOne<Tenant>().WithMany().HasForeignKey(i => i.TenantId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<TraceRecord>(e =>
        {
            // Tenant first: every query is per tenant, and RLS filters on it. The start time too: the table is partitioned
            // by it (TracePartitions), and a partitioned table's keys must hold its partition key.
            e.HasKey(t => new { t.TenantId, t.Id, t.StartedAt });
            e.Property(t => t.TenantId).HasMaxLength(64);
            e.Property(t => t.TraceId).HasMaxLength(32);
            e.Property(t => t.UserId).HasMaxLength(128);
            e.Property(t => t.ModelAlias).HasMaxLength(ChatRequestMapper.MaxModelLength);
            e.Property(t => t.Provider).HasMaxLength(32);
            e.Property(t => t.Deployment).HasMaxLength(80);
            e.Property(t => t.ResponseModel).HasMaxLength(TraceRecord.MaxResponseModelLength);
            e.Property(t => t.Status).HasMaxLength(16);
            e.Property(t => t.ErrorType).HasMaxLength(64);
            e.Property(t => t.TokenSource).HasMaxLength(16);
            e.Property(t => t.FinishReason).HasMaxLength(TraceRecord.MaxFinishReasonLength);
            e.Property(t => t.Classification).HasMaxLength(16);
            e.Property(t => t.Redactions).HasColumnType("jsonb");
            e.Property(t => t.GuardRules).HasMaxLength(400);
            // Keyset pagination: newest first, id as the tie-breaker.
            e.HasIndex(t => new { t.TenantId, t.StartedAt, t.Id }).IsDescending(false, true, true);
            // No foreign key to tenants: tenants of external issuers exist only in their tokens.
        });

        modelBuilder.Entity<AuditEntry>(e =>
        {
            e.HasKey(a => new { a.TenantId, a.Sequence });
            e.Property(a => a.TenantId).HasMaxLength(64);
            e.Property(a => a.Kind).HasMaxLength(64);
            e.Property(a => a.Actor).HasMaxLength(128);
            e.Property(a => a.Subject).HasMaxLength(128);
            // text, not jsonb: jsonb normalizes, and the hash is over the exact text.
            e.Property(a => a.Data).HasMaxLength(4000);
        });

        modelBuilder.Entity<Job>(e =>
        {
            e.HasKey(j => new { j.TenantId, j.Id });
            e.Property(j => j.TenantId).HasMaxLength(64);
            e.Property(j => j.UserId).HasMaxLength(128);
            e.Property(j => j.Status).HasMaxLength(16);
            e.Property(j => j.Model).HasMaxLength(ChatRequestMapper.MaxModelLength);
            e.Property(j => j.IdempotencyKey).HasMaxLength(255);
            e.Property(j => j.ErrorType).HasMaxLength(64);
            e.Property(j => j.Error).HasMaxLength(2000);
            e.Property(j => j.Worker).HasMaxLength(128);
            // The backstop of Idempotency-Key: one job per key and submitter even if the Redis record is gone.
            e.HasIndex(j => new { j.TenantId, j.UserId, j.IdempotencyKey }).IsUnique().HasFilter("idempotency_key IS NOT NULL");
            e.HasIndex(j => new { j.TenantId, j.UserId, j.CreatedAt });
            // The sweeper's question: unfinished jobs by last sign of life.
            e.HasIndex(j => j.UpdatedAt).HasFilter("status IN ('queued', 'running')");
        });

        modelBuilder.Entity<SigningKey>(e =>
        {
            e.HasKey(k => k.Id);
            e.Property(k => k.Id).HasMaxLength(64);
            e.Property(k => k.PublicJwk).HasMaxLength(2000);
            e.HasIndex(k => k.ExpiresAt);
        });

        modelBuilder.Entity<TenantDataKey>(e =>
        {
            e.HasKey(k => new { k.TenantId, k.Id });
            e.Property(k => k.TenantId).HasMaxLength(64);
        });
    }
}
