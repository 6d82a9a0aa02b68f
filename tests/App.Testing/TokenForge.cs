using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace App.Testing;

/// <summary>Builds JWTs by hand, including the malformed and malicious ones a validator must refuse.</summary>
public static class TokenForge
{
    public static string Encode(object value) => Base64UrlEncoder.Encode(JsonSerializer.SerializeToUtf8Bytes(value));

    /// <summary>A token with the given header and payload, signed by <paramref name="sign"/> (or with an empty signature).</summary>
    public static string Build(IDictionary<string, object> header, IDictionary<string, object> payload, Func<byte[], byte[]>? sign = null)
    {
        var signingInput = Encode(header) + "." + Encode(payload);
        var signature = sign is null ? string.Empty : Base64UrlEncoder.Encode(sign(Encoding.ASCII.GetBytes(signingInput)));
        return signingInput + "." + signature;
    }

    public static Func<byte[], byte[]> Es256(ECDsa key) => data => key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public static Func<byte[], byte[]> Rs256(RSA key) => data => key.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    public static Func<byte[], byte[]> Hs256(byte[] secret) => data => HMACSHA256.HashData(secret, data);

    public static Dictionary<string, object> Claims(string issuer, string audience, string subject, string tenant, string scope, DateTimeOffset? now = null, TimeSpan? lifetime = null)
    {
        var at = now ?? DateTimeOffset.UtcNow;
        return new Dictionary<string, object>
        {
            ["iss"] = issuer,
            ["aud"] = audience,
            ["sub"] = subject,
            ["tenant_id"] = tenant,
            ["scope"] = scope,
            ["sid"] = "forged-" + Guid.NewGuid().ToString("N")[..8],
            ["iat"] = at.ToUnixTimeSeconds(),
            ["nbf"] = at.ToUnixTimeSeconds(),
            ["exp"] = (at + (lifetime ?? TimeSpan.FromMinutes(5))).ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
    }
}
