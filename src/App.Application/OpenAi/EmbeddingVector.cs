using System.Text.Json.Serialization;

namespace App.Application.OpenAi;

/// <summary>A vector on the wire: an array of numbers, or with <c>encoding_format: base64</c> one base64 string of little-endian float32.</summary>
[JsonConverter(typeof(EmbeddingVectorConverter))]
public sealed record EmbeddingVector(float[] Values, bool Base64);
