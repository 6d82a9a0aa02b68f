using System.Formats.Cbor;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;

namespace App.Testing;

/// <summary>
/// A WebAuthn authenticator in software (ES256, "none" attestation), so passkey ceremonies run for real in
/// integration tests: it answers the server's options with the bytes a platform authenticator would produce,
/// and every field it signs can be bent to play an attacker.
/// </summary>
public sealed class SoftwareAuthenticator : IDisposable
{
    private const byte UserPresent = 0x01;
    private const byte UserVerified = 0x04;
    private const byte BackupEligible = 0x08;
    private const byte BackedUp = 0x10;
    private const byte AttestedData = 0x40;

    public ECDsa Key { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public byte[] CredentialId { get; } = RandomNumberGenerator.GetBytes(32);

    public byte[] UserHandle { get; private set; } = [];

    public uint Counter { get; set; }

    /// <summary>The backup-eligible flag this authenticator reports (a multi-device passkey): true unless a test bends it.</summary>
    public bool IsBackupEligible { get; set; } = true;

    /// <summary>The backed-up flag it reports.</summary>
    public bool IsBackedUp { get; set; } = true;

    /// <summary>Answers <c>navigator.credentials.create</c> options.</summary>
    public JsonObject Register(JsonElement options, string origin, string? rpId = null, bool verified = true)
    {
        UserHandle = Base64UrlEncoder.DecodeBytes(options.GetProperty("user").GetProperty("id").GetString()!);
        var challenge = options.GetProperty("challenge").GetString()!;
        var clientData = ClientData("webauthn.create", challenge, origin);
        var authData = AuthenticatorData(rpId ?? options.GetProperty("rp").GetProperty("id").GetString()!, verified, attested: true);

        var cbor = new CborWriter(CborConformanceMode.Ctap2Canonical);
        cbor.WriteStartMap(3);
        cbor.WriteTextString("fmt");
        cbor.WriteTextString("none");
        cbor.WriteTextString("attStmt");
        cbor.WriteStartMap(0);
        cbor.WriteEndMap();
        cbor.WriteTextString("authData");
        cbor.WriteByteString(authData);
        cbor.WriteEndMap();

        return new JsonObject
        {
            ["id"] = Base64UrlEncoder.Encode(CredentialId),
            ["rawId"] = Base64UrlEncoder.Encode(CredentialId),
            ["type"] = "public-key",
            ["response"] = new JsonObject
            {
                ["attestationObject"] = Base64UrlEncoder.Encode(cbor.Encode()),
                ["clientDataJSON"] = Base64UrlEncoder.Encode(clientData),
                ["transports"] = new JsonArray("internal"),
            },
            ["clientExtensionResults"] = new JsonObject(),
        };
    }

    /// <summary>Answers <c>navigator.credentials.get</c> options, signing with <paramref name="signWith"/> (default: our key).</summary>
    public JsonObject Assert(JsonElement options, string origin, string? rpId = null, bool verified = true, ECDsa? signWith = null)
    {
        Counter++;
        var challenge = options.GetProperty("challenge").GetString()!;
        var clientData = ClientData("webauthn.get", challenge, origin);
        var authData = AuthenticatorData(rpId ?? options.GetProperty("rpId").GetString()!, verified, attested: false);
        var signed = authData.Concat(SHA256.HashData(clientData)).ToArray();
        var signature = (signWith ?? Key).SignData(signed, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return new JsonObject
        {
            ["id"] = Base64UrlEncoder.Encode(CredentialId),
            ["rawId"] = Base64UrlEncoder.Encode(CredentialId),
            ["type"] = "public-key",
            ["response"] = new JsonObject
            {
                ["authenticatorData"] = Base64UrlEncoder.Encode(authData),
                ["clientDataJSON"] = Base64UrlEncoder.Encode(clientData),
                ["signature"] = Base64UrlEncoder.Encode(signature),
                ["userHandle"] = Base64UrlEncoder.Encode(UserHandle),
            },
            ["clientExtensionResults"] = new JsonObject(),
        };
    }

    private static byte[] ClientData(string type, string challenge, string origin) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["type"] = type, ["challenge"] = challenge, ["origin"] = origin, ["crossOrigin"] = false });

    private byte[] AuthenticatorData(string rpId, bool verified, bool attested)
    {
        var data = new List<byte>();
        data.AddRange(SHA256.HashData(Encoding.UTF8.GetBytes(rpId)));
        data.Add((byte)(UserPresent | (verified ? UserVerified : 0) | (IsBackupEligible ? BackupEligible : 0) | (IsBackedUp ? BackedUp : 0) | (attested ? AttestedData : 0)));
        data.AddRange(BitConverter.GetBytes(Counter).Reverse());
        if (attested)
        {
            data.AddRange(new byte[16]); // AAGUID: none
            data.Add((byte)(CredentialId.Length >> 8));
            data.Add((byte)CredentialId.Length);
            data.AddRange(CredentialId);
            data.AddRange(CosePublicKey());
        }

        return [.. data];
    }

    private byte[] CosePublicKey()
    {
        var p = Key.ExportParameters(false);
        var cbor = new CborWriter(CborConformanceMode.Ctap2Canonical);
        cbor.WriteStartMap(5);
        cbor.WriteInt32(1);
        cbor.WriteInt32(2); // kty: EC2
        cbor.WriteInt32(3);
        cbor.WriteInt32(-7); // alg: ES256
        cbor.WriteInt32(-1);
        cbor.WriteInt32(1); // crv: P-256
        cbor.WriteInt32(-2);
        cbor.WriteByteString(p.Q.X!);
        cbor.WriteInt32(-3);
        cbor.WriteByteString(p.Q.Y!);
        cbor.WriteEndMap();
        return cbor.Encode();
    }

    public void Dispose() => Key.Dispose();
}
