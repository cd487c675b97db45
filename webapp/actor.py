"""Who is asking. Every service receives an Actor and checks it on its first line, so users,
API tokens, link visitors and background jobs all pass through the same rights."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from webapp.errors import Forbidden


class Role(enum.StrEnum):
    admin = "admin"
    editor = "editor"
    viewer = "viewer"


class Perm(enum.StrEnum):
    read = "read"
    read_watermarked = "read_watermarked"  # sees images only through the watermark
    update = "update"
    delete = "delete"
    create_links = "create_links"
    download_original = "download_original"


PERM_LABELS: dict[Perm, str] = {
    Perm.read: "Read",
    Perm.read_watermarked: "Read with watermark only",
    Perm.update: "Update",
    Perm.delete: "Delete",
    Perm.create_links: "Create links",
    Perm.download_original: "Download original",
}

# What a new user of each role gets; an admin can change the flags per user afterwards.
ROLE_DEFAULTS: dict[Role, frozenset[Perm]] = {
    Role.admin: frozenset(Perm) - {Perm.read_watermarked},
    Role.editor: frozenset(
        {Perm.read, Perm.update, Perm.delete, Perm.create_links, Perm.download_original}
    ),
    Role.viewer: frozenset({Perm.read, Perm.download_original}),
}


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" (session), "token" (API), "link" (share-link visitor), "system" (jobs)
    user_id: int | None = None
    email: str = ""
    name: str = ""
    role: Role = Role.viewer
    perms: frozenset[Perm] = field(default_factory=frozenset)
    token_id: int | None = None
    session_id: int | None = None
    # The IANA zone the user sees times in ("" = the browser's): base.html, static/app.js.
    time_zone: str = ""

    @property
    def is_admin(self) -> bool:
        return self.kind == "system" or self.role == Role.admin

    def can(self, perm: Perm) -> bool:
        if self.is_admin:
            return perm != Perm.read_watermarked
        if perm == Perm.read:
            return Perm.read in self.perms or Perm.read_watermarked in self.perms
        return perm in self.perms

    @property
    def watermark_only(self) -> bool:
        """True when the user may see images only through the watermark."""
        return (
            not self.is_admin
            and Perm.read_watermarked in self.perms
            and Perm.read not in self.perms
        )

    def require(self, perm: Perm) -> None:
        if not self.can(perm):
            raise Forbidden(f"You do not have the right to {PERM_LABELS[perm].lower()}.")

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("Only administrators can do this.")


SYSTEM = Actor(kind="system", name="system", role=Role.admin)
