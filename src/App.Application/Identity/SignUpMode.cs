namespace App.Application.Identity;

public enum SignUpMode
{
    /// <summary>Anyone may register; the first user of a new tenant creates it.</summary>
    Open,

    /// <summary>Only tenants that already exist accept new users (created by an admin or seeded).</summary>
    InviteOnly,
}
