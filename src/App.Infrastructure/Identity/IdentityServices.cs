using App.Infrastructure.Security;
using Fido2NetLib;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace App.Infrastructure.Identity;

/// <summary>First-party identity: the key ring, tokens, sessions, invitations and passkeys.</summary>
internal static class IdentityServices
{
    public static IServiceCollection AddIdentityServices(this IServiceCollection services)
    {
        services.AddOptions<EncryptionOptions>().BindConfiguration(EncryptionOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EncryptionOptions>, EncryptionOptionsValidator>();
        services.AddSingleton<KeyEncryption>();
        services.AddSingleton<SigningKeyRing>();
        services.AddSingleton<AccessTokenIssuer>();
        services.AddSingleton<RevocationList>();
        services.AddSingleton<Sessions>();
        services.AddSingleton<Invitations>();
        services.AddOptions<PasskeyOptions>().BindConfiguration(PasskeyOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PasskeyOptions>, PasskeyOptionsValidator>();
        services.AddSingleton<IFido2>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<PasskeyOptions>>().Value;
            return new Fido2(new Fido2Configuration
            {
                RPID = o.RelyingPartyId,
                RPName = o.RelyingPartyName,
                Origins = o.Origins.ToHashSet(StringComparer.Ordinal),
                ChallengeSize = 32,
                Timeout = (uint)o.CeremonyTimeout.TotalMilliseconds,
            });
        });
        services.AddSingleton<Passkeys>();
        services.AddHostedService<SigningKeyMaintenance>();
        return services;
    }
}
