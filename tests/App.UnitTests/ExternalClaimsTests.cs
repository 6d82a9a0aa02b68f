using App.Application.Identity;

namespace App.UnitTests;

public class ExternalClaimsTests
{
    [Fact]
    public void ATenantIsOneToSixtyFourCharactersOfPlainTextWithNoSpaceAtEitherEnd()
    {
        Assert.Null(ExternalClaims.TenantProblem("acme"));
        Assert.Null(ExternalClaims.TenantProblem("a"));
        Assert.Null(ExternalClaims.TenantProblem("Acme Corp (EU)"));
        Assert.Null(ExternalClaims.TenantProblem("société-é"));
        Assert.Null(ExternalClaims.TenantProblem(new string('t', 64)));

        Assert.Equal("is empty", ExternalClaims.TenantProblem(string.Empty));
        Assert.Equal("is empty", ExternalClaims.TenantProblem(null));
        Assert.Equal("is longer than 64 characters", ExternalClaims.TenantProblem(new string('t', 65)));
        Assert.Equal("starts or ends with whitespace", ExternalClaims.TenantProblem(" acme"));
        Assert.Equal("starts or ends with whitespace", ExternalClaims.TenantProblem("acme\u00a0"));
        Assert.Equal("is reserved for the service itself", ExternalClaims.TenantProblem(ReservedTenants.WarmUp));
        foreach (var broken in new[] { "ac\0me", "ac\nme", "ac\u007fme", "ac\u0085me", "ac\ud800me" })
        {
            Assert.Equal("holds a control character or broken UTF-16", ExternalClaims.TenantProblem(broken));
        }
    }

    [Fact]
    public void ASubjectIsAtMostOneHundredTwentyEightCharactersOfPlainText()
    {
        Assert.Null(ExternalClaims.SubjectProblem("auth0|5f7c8ec7c33c6c004bbafe82"));
        Assert.Null(ExternalClaims.SubjectProblem(" spaced "));
        Assert.Null(ExternalClaims.SubjectProblem(new string('s', 128)));
        Assert.Null(ExternalClaims.SubjectProblem("emoji-\U0001F600"));

        Assert.Equal("is longer than 128 characters", ExternalClaims.SubjectProblem(new string('s', 129)));
        Assert.Equal("holds a control character or broken UTF-16", ExternalClaims.SubjectProblem("user\0one"));
        Assert.Equal("holds a control character or broken UTF-16", ExternalClaims.SubjectProblem("user\tone"));
        Assert.Equal("holds a control character or broken UTF-16", ExternalClaims.SubjectProblem("user\udc00"));
    }
}
