using Microsoft.AspNetCore.Authorization;

namespace App.Api.Auth;

/// <summary>The policy of one scope: the caller's token must grant it.</summary>
internal sealed record ScopeRequirement(string Scope) : IAuthorizationRequirement;
