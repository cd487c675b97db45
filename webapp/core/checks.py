"""One step of a connection test that an admin runs from a page ("Test" of a sign-in
provider, the domain check): what was tried, whether it worked, in plain words."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Check:
    step: str
    ok: bool
    message: str
