using System.Security.Cryptography;
using System.Text;
using Parley.Push.Tests.Simulators;
using Parley.Push.Vendors.WebPush;

namespace Parley.Push.Tests;

/// <summary>RFC 8291 §5 / Appendix A worked example, so the simulator's decryption is not just agreeing with itself.</summary>
public sealed class WebPushCryptoTests
{
    private const string Plaintext = "When I grow up, I want to be a watermelon";
    private const string UaPublic = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    private const string UaPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    private const string AsPublic = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    private const string AsPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    private const string AuthSecret = "BTBZMqHH6r4Tts7J_aSIgg";
    private const string Salt = "DGv6ra1nlYgDCS1FRnbzlw";
    private const string Body = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    private static ECDiffieHellman Key(string publicKey, string privateKey)
    {
        var pub = JsonHelpers.B64Url(publicKey);
        return ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = pub[1..33], Y = pub[33..65] },
            D = JsonHelpers.B64Url(privateKey),
        });
    }

    [Fact]
    public void Encrypt_Rfc8291Example_ProducesTheKnownBody()
    {
        using var sender = Key(AsPublic, AsPrivate);
        var body = WebPushCrypto.Encrypt(Encoding.UTF8.GetBytes(Plaintext), JsonHelpers.B64Url(UaPublic), JsonHelpers.B64Url(AuthSecret), sender, JsonHelpers.B64Url(Salt));
        Assert.Equal(Body, JsonHelpers.ToB64Url(body));
    }

    [Fact]
    public void Decrypt_Rfc8291Example_RecoversThePlaintext()
    {
        using var receiver = Key(UaPublic, UaPrivate);
        var plain = WebPushCrypto.Decrypt(JsonHelpers.B64Url(Body), receiver, JsonHelpers.B64Url(AuthSecret));
        Assert.Equal(Plaintext, Encoding.UTF8.GetString(plain));
    }
}
