"""What a directory says about someone, in one shape for every kind of directory (issue 16).

An LDAP / Active Directory bind and an OpenID Connect ID token both end in a
`DirectoryIdentity`: the directory has checked the person, and says who they are and which
groups they are in. What Pictorium then lets them do (the role and flags a group maps to, a
user created on first sign-in, "no access") is decided from this value alone, so the mapping
is the same for every kind and is tested without a server.

A directory that cannot be asked raises `DirectoryUnavailable` (down, slow, TLS): never a
refusal of the person, and never an access. A directory that says no raises
`DirectoryRefused`. Both carry a message in plain words for the sign-in page or the admin's
"Test", and no secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.core.checks import Check  # a provider's "Test" is a list of these

__all__ = [
    "Check",
    "DirectoryError",
    "DirectoryIdentity",
    "DirectoryRefused",
    "DirectoryUnavailable",
]


@dataclass(frozen=True, slots=True)
class DirectoryIdentity:
    """A person a directory has just checked.

    subject: the directory's stable id for them (LDAP: entryUUID or objectGUID, else the DN;
        OpenID Connect: `sub`); a user created on first sign-in is matched by it afterwards.
    login: what they are known by there (sAMAccountName, uid, preferred_username).
    groups: the groups the directory reports, nested groups resolved (names or DNs, as the
        provider's mapping spells them).
    active: False when the directory reports the account disabled.
    """

    subject: str
    login: str
    email: str
    name: str
    groups: tuple[str, ...] = ()
    active: bool = True


class DirectoryError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DirectoryRefused(DirectoryError):
    """The directory answered and said no: a wrong password, an unknown or disabled login, a
    forged or replayed callback, a token for someone else."""


class DirectoryUnavailable(DirectoryError):
    """The directory could not be asked: unreachable, too slow, TLS failed, discovery broken.
    Local sign-in is unaffected."""
