"""Access tokens from the local Keycloak's development realm (deploy/keycloak/certifia-realm.json), for the
demo and the e2e suite: as an LMS would get them (client credentials), as people log in (the dev realm
allows the password grant; a real deployment uses authorisation code + PKCE), and a candidate's account,
created on first use with the ``candidate_id`` attribute that binds it (what an administrator does).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
REALM_FILE = ROOT / "deploy" / "keycloak" / "certifia-realm.json"
PEOPLE = {"jury": "jury-demo", "officer": "officer-demo", "admin": "admin-demo"}
EARLY_RENEWAL_SECONDS = 30


def realm() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(REALM_FILE.read_text(encoding="utf-8"))
    return loaded


def client_secret(client_id: str) -> str:
    for client in realm()["clients"]:
        if client["clientId"] == client_id:
            return str(client["secret"])
    raise KeyError(f"no client {client_id!r} in {REALM_FILE}")


def _password(username: str) -> str:
    for user in realm()["users"]:
        if user["username"] == username:
            return str(user["credentials"][0]["value"])
    raise KeyError(f"no user {username!r} in {REALM_FILE}")


class DevRealm:
    """Tokens of the realm served by ``issuer``, kept until shortly before they expire."""

    def __init__(self, issuer: str, admin_password_file: Path) -> None:
        self.issuer = issuer.rstrip("/")
        self._admin_password_file = admin_password_file
        self._http = httpx.Client(timeout=30)
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._candidate_passwords: dict[str, str] = {}

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    def _grant(self, key: str, form: dict[str, str], url: str | None = None) -> str:
        """A token for ``key``, from the cache or a grant; one lock per key, so that many callers at once (make
        bench-cohort's walkers) wait only for their own token, not for everybody's."""
        with self._lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            cached = self._cache.get(key)
            if cached and time.monotonic() < cached[1]:
                return cached[0]
            response = self._http.post(url or self.token_url, data=form)
            if response.status_code != 200:
                raise RuntimeError(
                    f"Keycloak refused the {form['grant_type']} grant for {key}: {response.text[:300]}"
                )
            answer = response.json()
            renew = time.monotonic() + max(1.0, float(answer.get("expires_in", 60)) - EARLY_RENEWAL_SECONDS)
            self._cache[key] = (answer["access_token"], renew)
            return str(answer["access_token"])

    def client(self, client_id: str) -> str:
        """The client-credentials token of an LMS (demo-lms, lms-other) or a service (grading-compute)."""
        form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret(client_id),
        }
        return self._grant(f"client:{client_id}", form)

    def person(self, username: str, password: str | None = None) -> str:
        form = {
            "grant_type": "password",
            "client_id": "certifia-web",
            "username": username,
            "password": password or _password(username),
            "scope": "openid",
        }
        return self._grant(f"user:{username}", form)

    def staff(self, role: str) -> str:
        return self.person(PEOPLE[role])

    def candidate(self, candidate_id: str) -> str:
        """The token of the candidate's own account (created, bound and given the role on first use)."""
        username = f"candidate-{candidate_id}".lower()
        if username not in self._candidate_passwords:
            self._candidate_passwords[username] = self._create_candidate(username, candidate_id)
        return self.person(username, self._candidate_passwords[username])

    # -- the realm's administration (the master realm's admin, password in the data dir) ----------------
    def _admin_token(self) -> str:
        """The master realm admin's token, kept like the others (one grant, not one per candidate account)."""
        base = self.issuer.rsplit("/realms/", 1)[0]
        form = {
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": "admin",
            "password": self._admin_password_file.read_text().strip(),
        }
        return self._grant("master:admin", form, f"{base}/realms/master/protocol/openid-connect/token")

    def _create_candidate(self, username: str, candidate_id: str) -> str:
        base, realm_name = self.issuer.rsplit("/realms/", 1)
        admin = {"Authorization": f"Bearer {self._admin_token()}"}
        users = f"{base}/admin/realms/{realm_name}/users"
        password = secrets.token_urlsafe(18)
        created = self._http.post(
            users,
            headers=admin,
            json={
                "username": username,
                "enabled": True,
                "email": f"{username}@candidates.certifia.test",
                "emailVerified": True,
                "firstName": "Candidate",
                "lastName": candidate_id[:40],
                "attributes": {"candidate_id": [candidate_id]},
                "credentials": [{"type": "password", "value": password, "temporary": False}],
            },
        )
        if created.status_code not in (201, 409):
            raise RuntimeError(
                f"creating the candidate account failed: {created.status_code} {created.text[:300]}"
            )
        [user] = self._http.get(users, headers=admin, params={"username": username, "exact": "true"}).json()
        if created.status_code == 409:  # an earlier run made it: give it a password we know
            self._http.put(
                f"{users}/{user['id']}/reset-password",
                headers=admin,
                json={"type": "password", "value": password, "temporary": False},
            ).raise_for_status()
        role = self._http.get(f"{base}/admin/realms/{realm_name}/roles/candidate", headers=admin).json()
        self._http.post(
            f"{users}/{user['id']}/role-mappings/realm", headers=admin, json=[role]
        ).raise_for_status()
        return password
