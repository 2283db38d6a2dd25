"""ID-token claims become a Viewer, and a Viewer gets exactly its roles' pages."""

from __future__ import annotations

import logging
import tomllib
from dataclasses import replace

import pytest

from auth.viewer import (
    PAGES,
    PAGES_BY_ROLE,
    ROLES,
    ClaimSettings,
    Viewer,
    claim_settings_from,
    pages_for,
    viewer_from_claims,
)
from dashboard.settings import PROJECT_ROOT
from queries.filters import Scope

KEYCLOAK = ClaimSettings(
    roles_claim="groups",
    role_aliases={"/relais/captain": "captain", "/relais/intervenants": "worker"},
    service_aliases={"/relais/services/saguenay": "SPS", "/relais/services/province": "*"},
)
ENTRA = ClaimSettings(role_aliases={"Relais.Captain": "captain", "Relais.Funder": "funder"})


def claims(roles=None, services=("RIPRSL",), **extra):
    """An ID token's claims for subject alice, leaving out a claim given as None."""
    token = {"sub": "alice", **extra}
    if roles is not None:
        token["roles"] = roles
    if services is not None:
        token["police_services"] = services
    return token


@pytest.mark.parametrize(
    ("token", "settings", "roles", "services", "all_services", "access"),
    [
        # Roles
        (claims(["captain"]), ClaimSettings(), {"captain"}, {"RIPRSL"}, False, True),
        (claims(None), ClaimSettings(), set(), {"RIPRSL"}, False, False),
        (claims([]), ClaimSettings(), set(), {"RIPRSL"}, False, False),
        (claims(""), ClaimSettings(), set(), {"RIPRSL"}, False, False),
        (claims(["sergeant"]), ClaimSettings(), set(), {"RIPRSL"}, False, False),
        (claims(["sergeant", "worker"]), ClaimSettings(), {"worker"}, {"RIPRSL"}, False, True),
        (claims(["worker", "admin"]), ClaimSettings(), {"worker", "admin"}, {"RIPRSL"}, False, True),
        (claims("director"), ClaimSettings(), {"director"}, {"RIPRSL"}, False, True),
        (claims("director, worker"), ClaimSettings(), {"director", "worker"}, {"RIPRSL"}, False, True),
        # A space does not separate roles: provider group names may contain spaces.
        (claims("director worker"), ClaimSettings(), set(), {"RIPRSL"}, False, False),
        (claims(["  CAPTAIN ", "Funder"]), ClaimSettings(), {"captain", "funder"}, {"RIPRSL"}, False, True),
        (claims(["captain", "captain"]), ClaimSettings(), {"captain"}, {"RIPRSL"}, False, True),
        (claims([None, 7, {"role": "admin"}, "admin"]), ClaimSettings(), {"admin"}, {"RIPRSL"}, False, True),
        (claims({"role": "admin"}), ClaimSettings(), set(), {"RIPRSL"}, False, False),
        (claims(7), ClaimSettings(), set(), {"RIPRSL"}, False, False),
        # Services
        (claims(["captain"], ["sps"]), ClaimSettings(), {"captain"}, {"SPS"}, False, True),
        (claims(["captain"], " sps , riprsl "), ClaimSettings(), {"captain"}, {"SPS", "RIPRSL"}, False, True),
        (claims(["funder"], "*"), ClaimSettings(), {"funder"}, set(), True, True),
        (claims(["funder"], ["*"]), ClaimSettings(), {"funder"}, set(), True, True),
        (claims(["director"], ["SPS", " * "]), ClaimSettings(), {"director"}, {"SPS"}, True, True),
        (claims(["captain"], None), ClaimSettings(), {"captain"}, set(), False, False),
        (claims(["captain"], []), ClaimSettings(), {"captain"}, set(), False, False),
        (claims(["captain"], " "), ClaimSettings(), {"captain"}, set(), False, False),
        (claims(["captain"], ["/relais/services/sps"]), ClaimSettings(), {"captain"}, set(), False, False),
        (claims(["captain"], ["SERVICE-DE-POLICE-DE-SAGUENAY"]), ClaimSettings(), {"captain"}, set(), False, False),
        (claims(None, None), ClaimSettings(), set(), set(), False, False),
        # Keycloak group paths, through aliases, under a renamed claim
        (
            {"sub": "alice", "groups": ["/relais/captain", "/other"], "police_services": ["/relais/services/sps"]},
            KEYCLOAK,
            {"captain"},
            set(),
            False,
            False,
        ),
        # With service aliases configured, a raw code no longer counts beside them.
        (
            {"sub": "alice", "groups": ["/relais/captain"], "police_services": ["RIPRSL", "/relais/services/saguenay"]},
            KEYCLOAK,
            {"captain"},
            {"SPS"},
            False,
            True,
        ),
        (
            {"sub": "alice", "groups": ["/Relais/Intervenants "], "police_services": "/relais/services/saguenay"},
            KEYCLOAK,
            {"worker"},
            {"SPS"},
            False,
            True,
        ),
        (
            {"sub": "alice", "groups": ["/relais/captain"], "police_services": ["/relais/services/province"]},
            KEYCLOAK,
            {"captain"},
            set(),
            True,
            True,
        ),
        # The renamed claim is the only one read.
        (claims(["captain"]), KEYCLOAK, set(), set(), False, False),
        # Entra ID app roles arrive in "roles"; with aliases configured, only aliased values count: a raw
        # "admin" or "director" may be another application's role of the same name.
        (claims(["Relais.Captain", "relais.funder"]), ENTRA, {"captain", "funder"}, {"RIPRSL"}, False, True),
        (claims(["Relais.Worker", "director"]), ENTRA, set(), {"RIPRSL"}, False, False),
        (claims(["admin", "Relais.Funder"]), ENTRA, {"funder"}, {"RIPRSL"}, False, True),
        # Only ASCII is case folded: "ſ" (long s) folds to "s" and would make "ſps" the code SPS.
        (claims(["captain"], ["ſps"]), ClaimSettings(), {"captain"}, set(), False, False),
        (claims(["ſcaptain", "captaın"]), ClaimSettings(), set(), {"RIPRSL"}, False, False),
        (claims(["Relais.Captain"]), ClaimSettings(role_aliases={"Relais.Captaın": "captain"}), set(), {"RIPRSL"},
         False, False),
        (claims(["captain"], ["ＳＰＳ"]), ClaimSettings(), {"captain"}, set(), False, False),
        # Keycloak realm roles live in a nested object: a dotted claim name reaches them.
        (
            {"sub": "alice", "realm_access": {"roles": ["offline_access", "worker"]}, "police_services": ["SPS"]},
            ClaimSettings(roles_claim="realm_access.roles"),
            {"worker"},
            {"SPS"},
            False,
            True,
        ),
        # A top-level claim spelled like the dotted path does not shadow the nested one.
        (
            {"sub": "alice", "realm_access": {"roles": ["worker"]}, "realm_access.roles": ["admin"],
             "police_services": ["SPS"]},
            ClaimSettings(roles_claim="realm_access.roles"),
            {"worker"},
            {"SPS"},
            False,
            True,
        ),
        # ... nor stand in for it when the provider's object lacks it.
        (
            {"sub": "alice", "realm_access": {}, "realm_access.roles": ["captain"], "police_services": ["SPS"]},
            ClaimSettings(roles_claim="realm_access.roles"),
            set(),
            {"SPS"},
            False,
            False,
        ),
        # A claim literally named with dots (Auth0 namespaced claims) is read as is.
        (
            {"sub": "alice", "https://relais.example/roles": ["admin"], "police_services": ["SPS"]},
            ClaimSettings(roles_claim="https://relais.example/roles"),
            {"admin"},
            {"SPS"},
            False,
            True,
        ),
        # Without a subject there is no one to audit.
        ({"roles": ["captain"], "police_services": ["SPS"]}, ClaimSettings(), {"captain"}, {"SPS"}, False, False),
        ({"sub": 4, "roles": "captain", "police_services": "SPS"}, ClaimSettings(), {"captain"}, {"SPS"}, False, False),
    ],
)
def test_claims_become_roles_and_services(token, settings, roles, services, all_services, access):
    viewer = viewer_from_claims(token, settings)
    assert viewer.roles == frozenset(roles)
    assert viewer.police_services == frozenset(services)
    assert viewer.all_services is all_services
    assert viewer.has_access is access
    assert viewer.scope == Scope(services=frozenset(services), all_services=all_services, roles=frozenset(roles))


@pytest.mark.parametrize(
    ("roles", "pages"),
    [
        ([], ()),
        (["sergeant"], ()),
        (["captain"], ("overview", "outreach", "definitions")),
        (["director"], ("overview", "outreach", "report", "queue", "definitions")),
        (["worker"], ("queue", "overview", "outreach", "definitions")),
        (["funder"], ("report", "definitions")),
        (["admin"], ("data", "audit", "definitions")),
        (["captain", "director"], ("overview", "outreach", "report", "queue", "definitions")),
        (["worker", "admin"], ("queue", "overview", "outreach", "data", "audit", "definitions")),
        (["funder", "captain"], ("overview", "outreach", "report", "definitions")),
        (list(ROLES), PAGES),
        ("Worker, FUNDER", ("queue", "overview", "outreach", "report", "definitions")),
        ([" ADMIN "], ("data", "audit", "definitions")),
    ],
)
def test_pages_by_role(roles, pages):
    assert pages_for(viewer_from_claims(claims(roles))) == pages


@pytest.mark.parametrize(
    ("token", "pages"),
    [
        (claims(["captain"], None), ()),
        (claims(["admin"], []), ()),
        (claims(["funder"], "*"), ("report", "definitions")),
        ({"roles": ["captain"], "police_services": ["SPS"]}, ()),
    ],
)
def test_no_pages_without_access(token, pages):
    assert pages_for(viewer_from_claims(token)) == pages


def test_pages_for_denies_a_viewer_built_by_hand_with_an_unknown_role():
    viewer = Viewer(subject="alice", display_name="Alice", roles=frozenset({"root"}), all_services=True)
    assert pages_for(viewer) == ()


def test_every_role_has_pages_and_every_page_a_role():
    assert set(PAGES_BY_ROLE) == set(ROLES)
    assert set().union(*PAGES_BY_ROLE.values()) == set(PAGES)


def test_every_page_a_role_may_open_has_a_script():
    scripts = {path.stem for path in (PROJECT_ROOT / "pages").glob("*.py")}
    assert set(PAGES) <= scripts, f"no script in pages/ for {sorted(set(PAGES) - scripts)}"


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ({"sub": "u1", "name": " Alice Tremblay ", "preferred_username": "atremblay"}, "Alice Tremblay"),
        ({"sub": "u1", "name": "", "preferred_username": "atremblay", "email": "a@x.ca"}, "atremblay"),
        ({"sub": "u1", "email": "a@x.ca"}, "a@x.ca"),
        ({"sub": "u1", "name": ["Alice"]}, "u1"),
        ({"sub": "u1"}, "u1"),
    ],
)
def test_display_name_is_the_first_filled_name_claim(token, expected):
    viewer = viewer_from_claims(token)
    assert viewer.subject == "u1"
    assert viewer.display_name == expected


def test_display_name_claims_are_configurable():
    settings = ClaimSettings(name_claims=("upn", "sub"))
    token = {"sub": "u1", "name": "Alice", "upn": "alice@police.example"}
    assert viewer_from_claims(token, settings).display_name == "alice@police.example"


def test_unknown_values_are_logged_with_the_subject_only(caplog):
    token = claims(["captain", "sergeant"], ["SPS", "not a code"], email="alice@x.ca", secret_claim="do-not-log")
    with caplog.at_level(logging.WARNING, logger="auth.viewer"):
        viewer = viewer_from_claims(token)
    assert viewer.roles == {"captain"}
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert all("'alice'" in message for message in messages)
    assert "sergeant" in messages[0] and "not a code" in messages[1]
    assert not any("do-not-log" in message or "alice@x.ca" in message for message in messages)


def test_known_values_log_nothing(caplog):
    with caplog.at_level(logging.WARNING, logger="auth.viewer"):
        viewer_from_claims(claims(["captain"], ["SPS"]))
    assert not caplog.records


def test_viewer_and_settings_are_frozen_and_hashable():
    viewer = viewer_from_claims(claims(["captain"], ["SPS"]))
    with pytest.raises(AttributeError):
        viewer.roles = frozenset({"admin"})  # type: ignore[misc]
    assert hash(viewer) == hash(viewer_from_claims(claims(["captain"], ["sps"])))
    assert hash(KEYCLOAK) == hash(replace(KEYCLOAK))
    assert replace(KEYCLOAK) == KEYCLOAK
    with pytest.raises(TypeError):
        KEYCLOAK.role_aliases["/relais/admin"] = "admin"  # type: ignore[index]


SECRETS = """
[relais.claims]
roles_claim = "groups"
services_claim = "services"
name_claims = ["preferred_username", "sub"]

[relais.claims.role_aliases]
"/relais/captain" = "Captain"
"Relais.Worker" = " worker "
"relais.worker" = "WORKER"

[relais.claims.service_aliases]
"/relais/services/sps" = "sps"
"/relais/all" = "*"
"""


def test_claim_settings_from_a_secrets_section():
    settings = claim_settings_from(tomllib.loads(SECRETS)["relais"]["claims"])
    assert settings.roles_claim == "groups"
    assert settings.services_claim == "services"
    assert settings.name_claims == ("preferred_username", "sub")
    assert dict(settings.role_aliases) == {"/relais/captain": "captain", "relais.worker": "worker"}
    assert dict(settings.service_aliases) == {"/relais/services/sps": "SPS", "/relais/all": "*"}


@pytest.mark.parametrize("section", [None, {}])
def test_claim_settings_default_when_not_configured(section):
    assert claim_settings_from(section) == ClaimSettings()


def test_claim_settings_defaults():
    settings = ClaimSettings()
    assert settings.roles_claim == "roles"
    assert settings.services_claim == "police_services"
    assert settings.name_claims == ("name", "preferred_username", "email", "sub")
    assert dict(settings.role_aliases) == {}
    assert dict(settings.service_aliases) == {}


def test_a_single_name_claim_may_be_a_string():
    assert claim_settings_from({"name_claims": "upn"}).name_claims == ("upn",)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("roles", "must be a table"),
        ({"role_claim": "groups"}, "unknown claim settings: role_claim"),
        ({"roles_claim": ""}, "roles_claim must be a non-empty string"),
        ({"services_claim": 3}, "services_claim must be a non-empty string"),
        ({"name_claims": [""]}, "name_claims must be a list"),
        ({"name_claims": 3}, "name_claims must be a list"),
        ({"role_aliases": ["captain"]}, "role_aliases must be a table"),
        ({"role_aliases": {"/relais/boss": "chief"}}, "maps to 'chief', not one of"),
        ({"role_aliases": {"/relais/boss": 1}}, "aliases map non-empty strings"),
        ({"role_aliases": {" ": "captain"}}, "aliases map non-empty strings"),
        ({"role_aliases": {"Relais.Boss": "captain", "relais.boss": "admin"}}, "given twice"),
        ({"service_aliases": {"/relais/sps": "Service de police"}}, "not a service code"),
        ({"service_aliases": {"/relais/sps": ""}}, "not a service code"),
    ],
)
def test_claim_settings_are_validated(section, message):
    with pytest.raises(ValueError, match=message):
        claim_settings_from(section)
