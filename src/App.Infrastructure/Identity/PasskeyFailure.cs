namespace App.Infrastructure.Identity;

public enum PasskeyFailure
{
    None,
    UnknownCeremony,
    SignUpClosed,
    TenantExists,
    Rejected,
    UnknownCredential,
    UserDisabled,
    InvitationInvalid,
    UserNameTaken,
}
