namespace App.Application.Identity;

/// <summary>Claim names in our access tokens (RFC 9068 where one exists).</summary>
public static class TokenClaims
{
    public const string Tenant = "tenant_id";
    public const string Scope = "scope";
    public const string Session = "sid";
    public const string Subject = "sub";
}
