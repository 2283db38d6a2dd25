"""The demo identity provider's users: one per role, with the claims their ID tokens carry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoUser:
    """A user of the local demo provider, with the claims its ID token carries."""

    sub: str
    name: str
    roles: tuple[str, ...]
    police_services: tuple[str, ...]

    def claims(self) -> dict:
        """The claims the provider puts into this user's ID token."""
        return {"sub": self.sub, "name": self.name, "roles": list(self.roles),
                "police_services": list(self.police_services)}


DEMO_USERS = (
    DemoUser("capitaine", "Capitaine Richelieu–Saint-Laurent", ("captain",), ("RIPRSL",)),
    DemoUser("capitaine-sps", "Capitaine Saguenay", ("captain",), ("SPS",)),
    DemoUser("directrice", "Directrice de programme", ("director",), ("RIPRSL", "SPS")),
    DemoUser("intervenante", "Intervenante sociale (Entraide pour hommes)", ("worker",), ("RIPRSL",)),
    DemoUser("intervenante-sps", "Travailleuse sociale (Saguenay)", ("worker",), ("SPS",)),
    DemoUser("bailleur", "Bailleur de fonds", ("funder",), ("*",)),
    DemoUser("admin", "Administrateur", ("admin",), ("*",)),
    DemoUser("sans-role", "Compte sans rôle", (), ("RIPRSL",)),
)
