using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using App.Application.Audit;
using App.Application.Identity;
using App.Infrastructure.Audit;
using App.Infrastructure.Identity;
using App.Infrastructure.Persistence;
using App.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace App.IntegrationTests.Identity;

/// <summary>
/// Users join a tenant by invitation: an administrator grants only scopes they hold, a code signs one user up, and
/// scope changes end the user's sessions. Every step lands in the tenant's audit chain.
/// </summary>
public sealed class InvitationTests : GatewayTest
{
    private readonly List<SoftwareAuthenticator> _authenticators = [];

    public override async Task DisposeAsync()
    {
        _authenticators.ForEach(a => a.Dispose());
        await base.DisposeAsync();
    }

    private PasskeyCeremonies Ceremonies => new(Factory);

    private SoftwareAuthenticator NewAuthenticator()
    {
        var authenticator = new SoftwareAuthenticator();
        _authenticators.Add(authenticator);
        return authenticator;
    }

    /// <summary>The tenant's first user (its administrator), signed up for real: their access token.</summary>
    private async Task<string> AdminAsync() =>
        (await Ceremonies.SignUpAsync(NewAuthenticator(), new { tenant = Tenant, userName = "alice" })).GetProperty("access_token").GetString()!;

    private async Task<HttpResponseMessage> InviteAsync(string accessToken, object body)
    {
        using var client = Ceremonies.As(accessToken);
        return await client.PostAsJsonAsync("/admin/invitations", body);
    }

    private async Task<string> InvitationCodeAsync(string accessToken, string scopes)
    {
        using var response = await InviteAsync(accessToken, new { scopes, expires_in = 3600 });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString()!;
    }

    private static async Task<string> ProblemTypeAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString()!;

    private async Task<List<AuditEntry>> AuditAsync(string tenant) =>
        await Factory.Services.GetRequiredService<TenantData>().ReadAsync(tenant, db => db.AuditEntries.AsNoTracking().OrderBy(e => e.Sequence).ToListAsync(), CancellationToken.None);

    [Fact]
    public async Task AnInvitedUserJoinsTheTenantWithTheScopesTheInvitationGrants()
    {
        var admin = await AdminAsync();
        using var invited = await InviteAsync(admin, new { scopes = "chat:invoke traces:read", expires_in = 3600 });
        Assert.Equal(HttpStatusCode.Created, invited.StatusCode);
        Assert.True(invited.Headers.CacheControl?.NoStore, "the code is a credential: not to be stored on the way");
        var invitation = await invited.Content.ReadFromJsonAsync<JsonElement>();
        var code = invitation.GetProperty("code").GetString()!;
        Assert.StartsWith(Invitations.Prefix, code, StringComparison.Ordinal);
        Assert.Equal(Tenant, invitation.GetProperty("tenant").GetString());
        Assert.InRange(invitation.GetProperty("expires_at").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(59), DateTimeOffset.UtcNow.AddMinutes(61));

        // Only the hash of the code is stored.
        var stored = await Factory.Services.GetRequiredService<TenantData>().ReadAsync(Tenant, db => db.Invitations.AsNoTracking().SingleAsync(), CancellationToken.None);
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(code)), stored.CodeHash);

        // The code alone names the tenant.
        var bob = await Ceremonies.SignUpAsync(NewAuthenticator(), new { invitation = code, userName = "bob", displayName = "Bob" });
        var me = await Ceremonies.MeAsync(bob.GetProperty("access_token").GetString()!);
        Assert.Equal(Tenant, me.GetProperty("tenant").GetString());
        Assert.Equal(["chat:invoke", "traces:read"], me.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));

        using var adminClient = Ceremonies.As(admin);
        var users = await adminClient.GetFromJsonAsync<JsonElement>("/admin/users");
        Assert.Equal(["alice", "bob"], users.GetProperty("data").EnumerateArray().Select(u => u.GetProperty("user_name").GetString()));
        using var bobClient = Ceremonies.As(bob.GetProperty("access_token").GetString()!);
        using var notAdmin = await bobClient.GetAsync("/admin/users");
        Assert.Equal(HttpStatusCode.Forbidden, notAdmin.StatusCode);

        var audit = await AuditAsync(Tenant);
        Assert.Equal([AuditKinds.TenantCreated, AuditKinds.InvitationCreated, AuditKinds.UserJoined], audit.Select(e => e.Kind));
        Assert.Contains("traces:read", audit.Single(e => e.Kind == AuditKinds.UserJoined).Data, StringComparison.Ordinal);
        Assert.True((await Factory.Services.GetRequiredService<AuditLog>().VerifyAsync(Tenant, CancellationToken.None)).Ok);
    }

    [Fact]
    public async Task AnInvitationSignsUpOneUserOnly()
    {
        var code = await InvitationCodeAsync(await AdminAsync(), "chat:invoke");

        // Two sign-ups with the same code, both started before either finishes: one user results.
        var (bobCeremony, bobOptions) = await Ceremonies.OptionsAsync("/auth/passkeys/register/options", new { invitation = code, userName = "bob" });
        var (carolCeremony, carolOptions) = await Ceremonies.OptionsAsync("/auth/passkeys/register/options", new { invitation = code, userName = "carol" });
        using (var bob = await Ceremonies.AnswerAsync("/auth/passkeys/register", bobCeremony, NewAuthenticator().Register(bobOptions, PasskeyCeremonies.Origin)))
        {
            Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
        }

        using (var carol = await Ceremonies.AnswerAsync("/auth/passkeys/register", carolCeremony, NewAuthenticator().Register(carolOptions, PasskeyCeremonies.Origin)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, carol.StatusCode);
            Assert.Equal("urn:app:problem:invitation-invalid", await ProblemTypeAsync(carol));
        }

        using var again = await Ceremonies.Anonymous.PostAsJsonAsync("/auth/passkeys/register/options", new { invitation = code, userName = "dave" });
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        var users = await Factory.Services.GetRequiredService<TenantData>().ReadAsync(Tenant, db => db.Users.Select(u => u.UserName).ToListAsync(), CancellationToken.None);
        Assert.Equal(["alice", "bob"], users.Order());
    }

    [Fact]
    public async Task ExpiredUnknownOrMismatchedInvitationsAreRefusedAlike()
    {
        var code = await InvitationCodeAsync(await AdminAsync(), "chat:invoke");
        using (var otherTenant = await Ceremonies.Anonymous.PostAsJsonAsync("/auth/passkeys/register/options", new { invitation = code, tenant = "someone-else", userName = "bob" }))
        {
            Assert.Equal("urn:app:problem:invitation-invalid", await ProblemTypeAsync(otherTenant));
        }

        using (var unknown = await Ceremonies.Anonymous.PostAsJsonAsync("/auth/passkeys/register/options", new { invitation = code + "x", userName = "bob" }))
        {
            Assert.Equal("urn:app:problem:invitation-invalid", await ProblemTypeAsync(unknown));
        }

        using (var taken = await Ceremonies.Anonymous.PostAsJsonAsync("/auth/passkeys/register/options", new { invitation = code, userName = "alice" }))
        {
            Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
            Assert.Equal("urn:app:problem:user-name-taken", await ProblemTypeAsync(taken));
        }

        await using (var connection = new NpgsqlConnection((await Databases.SharedAsync()).Admin))
        {
            await connection.OpenAsync();
            await using var expire = new NpgsqlCommand("UPDATE app.invitations SET expires_at = now() - interval '1 second' WHERE tenant_id = $1", connection) { Parameters = { new() { Value = Tenant } } };
            Assert.Equal(1, await expire.ExecuteNonQueryAsync());
        }

        using var expired = await Ceremonies.Anonymous.PostAsJsonAsync("/auth/passkeys/register/options", new { invitation = code, userName = "bob" });
        Assert.Equal(HttpStatusCode.BadRequest, expired.StatusCode);
        Assert.Equal("urn:app:problem:invitation-invalid", await ProblemTypeAsync(expired));
    }

    [Fact]
    public async Task AnOpenInvitationCanBeWithdrawnAndTheListSaysWhereEachStands()
    {
        var admin = await AdminAsync();
        var accepted = await InvitationCodeAsync(admin, "chat:invoke");
        await Ceremonies.SignUpAsync(NewAuthenticator(), new { invitation = accepted, userName = "bob" });
        var withdrawn = await InvitationCodeAsync(admin, "chat:invoke");

        using var adminClient = Ceremonies.As(admin);
        var list = (await adminClient.GetFromJsonAsync<JsonElement>("/admin/invitations")).GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["open", "accepted"], list.Select(i => i.GetProperty("status").GetString()));
        Assert.All(list, i => Assert.False(i.TryGetProperty("code", out _), "codes are not kept, so never listed"));
        var openId = list[0].GetProperty("id").GetString();
        var acceptedId = list[1].GetProperty("id").GetString();

        using (var revoke = await adminClient.DeleteAsync($"/admin/invitations/{openId}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoke.StatusCode);
        }

        using (var refused = await Ceremonies.Anonymous.PostAsJsonAsync("/auth/passkeys/register/options", new { invitation = withdrawn, userName = "carol" }))
        {
            Assert.Equal("urn:app:problem:invitation-invalid", await ProblemTypeAsync(refused));
        }

        // An accepted invitation, one already withdrawn, or another tenant's: nothing to withdraw.
        foreach (var id in new[] { acceptedId, openId, Guid.NewGuid().ToString() })
        {
            using var none = await adminClient.DeleteAsync($"/admin/invitations/{id}");
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        }

        using (var other = Ceremonies.As(Factory.MintToken("other-" + Tenant, "eve", [Scopes.Admin, Scopes.ChatInvoke])))
        {
            Assert.Equal(0, (await other.GetFromJsonAsync<JsonElement>("/admin/invitations")).GetProperty("data").GetArrayLength());
        }

        Assert.Equal(["expired", "accepted"], (await adminClient.GetFromJsonAsync<JsonElement>("/admin/invitations")).GetProperty("data").EnumerateArray().Select(i => i.GetProperty("status").GetString()));
        var revoked = Assert.Single(await AuditAsync(Tenant), e => e.Kind == AuditKinds.InvitationRevoked);
        Assert.Equal(openId, revoked.Subject);
    }

    [Fact]
    public async Task AnAdministratorGrantsOnlyKnownScopesTheyHold()
    {
        // An administrator whose token holds chat:invoke and admin, nothing else.
        var admin = Factory.MintToken(Tenant, "limited-admin", [Scopes.Admin, Scopes.ChatInvoke]);
        using (var notHeld = await InviteAsync(admin, new { scopes = "chat:invoke traces:content" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, notHeld.StatusCode);
            Assert.Equal("urn:app:problem:scope-not-held", await ProblemTypeAsync(notHeld));
        }

        using (var unknown = await InviteAsync(admin, new { scopes = "chat:invoke everything" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        }

        using (var tooShort = await InviteAsync(admin, new { scopes = "chat:invoke", expires_in = 10 }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, tooShort.StatusCode);
        }

        using (var notAdmin = await InviteAsync(Factory.MintToken(Tenant, "user", [Scopes.ChatInvoke]), new { scopes = "chat:invoke" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, notAdmin.StatusCode);
        }

        // A tenant that exists only in tokens (as an external issuer's do) gets its row with its first invitation.
        Assert.StartsWith(Invitations.Prefix, await InvitationCodeAsync(admin, "chat:invoke"), StringComparison.Ordinal);
        Assert.Empty(await Factory.Services.GetRequiredService<TenantData>().ReadAsync(Tenant, db => db.Users.ToListAsync(), CancellationToken.None));
    }

    [Fact]
    public async Task AScopeChangeEndsTheUsersSessionsAndTheirNextSignInGetsTheNewScopes()
    {
        var admin = await AdminAsync();
        var bobKey = NewAuthenticator();
        var bob = await Ceremonies.SignUpAsync(bobKey, new { invitation = await InvitationCodeAsync(admin, "chat:invoke traces:read"), userName = "bob" });
        var bobAccess = bob.GetProperty("access_token").GetString()!;
        var bobId = (await Ceremonies.MeAsync(bobAccess)).GetProperty("subject").GetString();

        using var adminClient = Ceremonies.As(admin);
        using (var changed = await adminClient.PutAsJsonAsync($"/admin/users/{bobId}/scopes", new { scopes = "chat:invoke" }))
        {
            Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
            Assert.Equal(["chat:invoke"], (await changed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        }

        // The old scopes leave with the old sessions: the access token and the refresh token both stop working.
        using (var bobClient = Ceremonies.As(bobAccess))
        using (var me = await bobClient.GetAsync("/auth/me"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);
        }

        using (var refresh = await Ceremonies.Anonymous.PostAsJsonAsync("/auth/refresh", new { refresh_token = bob.GetProperty("refresh_token").GetString() }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refresh.StatusCode);
        }

        var signedIn = await Ceremonies.SignInAsync(bobKey);
        Assert.Equal(["chat:invoke"], (await Ceremonies.MeAsync(signedIn.GetProperty("access_token").GetString()!)).GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));

        var aliceId = (await Ceremonies.MeAsync(admin)).GetProperty("subject").GetString();
        using (var own = await adminClient.PutAsJsonAsync($"/admin/users/{aliceId}/scopes", new { scopes = "chat:invoke" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, own.StatusCode);
            Assert.Equal("urn:app:problem:own-scopes", await ProblemTypeAsync(own));
        }

        using (var nobody = await adminClient.PutAsJsonAsync($"/admin/users/{Guid.NewGuid()}/scopes", new { scopes = "chat:invoke" }))
        {
            Assert.Equal(HttpStatusCode.NotFound, nobody.StatusCode);
        }

        var change = Assert.Single(await AuditAsync(Tenant), e => e.Kind == AuditKinds.ScopesChanged);
        Assert.Equal(bobId, change.Subject);
        Assert.Equal(aliceId, change.Actor);
        Assert.Contains("\"from\":\"chat:invoke traces:read\",\"to\":\"chat:invoke\"", change.Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WhenSignUpIsInviteOnlyAnOperatorsInvitationStartsANewTenant()
    {
        await using var inviteOnly = new GatewayFactory(Redis.ConnectionString, await Databases.SharedAsync(), new Settings().With("Auth:SignUp", "InviteOnly"));
        var ceremonies = new PasskeyCeremonies(inviteOnly);
        using (var closed = await ceremonies.Anonymous.PostAsJsonAsync("/auth/passkeys/register/options", new { tenant = Tenant, userName = "alice" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, closed.StatusCode);
        }

        // The operator's command, run as the binary, as a deployment would.
        var refused = await WorkerProcess.RunCommandAsync(inviteOnly.Configuration(), "invite", "--tenant", "Not A Tenant", "--valid-for", "90.00:00:00");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--tenant:", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("--valid-for:", refused.Stderr, StringComparison.Ordinal);
        var (exitCode, stdout, stderr) = await WorkerProcess.RunCommandAsync(inviteOnly.Configuration(), "invite", "--tenant", Tenant, "--scope", "chat:invoke admin", "--valid-for", "01:00:00");
        Assert.True(exitCode == 0, stderr);
        var issued = JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(Tenant, issued.GetProperty("tenant").GetString());
        Assert.InRange(issued.GetProperty("expires_at").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(58), DateTimeOffset.UtcNow.AddMinutes(61));
        var alice = await ceremonies.SignUpAsync(NewAuthenticator(), new { invitation = issued.GetProperty("code").GetString(), userName = "alice" });
        var me = await ceremonies.MeAsync(alice.GetProperty("access_token").GetString()!);
        Assert.Equal(Tenant, me.GetProperty("tenant").GetString());
        Assert.Contains("admin", me.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));

        // Its administrator invites the next user, into the tenant the operator started.
        using var invited = await new PasskeyCeremonies(inviteOnly).As(alice.GetProperty("access_token").GetString()!).PostAsJsonAsync("/admin/invitations", new { scopes = "chat:invoke" });
        Assert.Equal(HttpStatusCode.Created, invited.StatusCode);
        var kinds = (await AuditAsync(Tenant)).Select(e => e.Kind).ToList();
        Assert.Equal([AuditKinds.InvitationCreated, AuditKinds.UserJoined], kinds.Take(2));
        Assert.Equal("operator", (await AuditAsync(Tenant))[0].Actor);
    }
}
