"""Deployment settings and logins: `check --deploy` is clean with the production environment, every login
path locks out repeated failures, and passwords are checked by Django's standard validators."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client

from labeling_factories import make_user

REPO = Path(__file__).resolve().parents[2]
FAILURES = 3

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "webapp.settings.base",
    "DJANGO_DEBUG": "0",
    "ALLOWED_HOSTS": "clicklabel.example.org",
    "CLICKLABEL_HTTPS": "1",
    "CLICKLABEL_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "CLICKLABEL_HSTS_SECONDS": "31536000",
    "CLICKLABEL_HSTS_INCLUDE_SUBDOMAINS": "1",
    "CLICKLABEL_HSTS_PRELOAD": "1",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLICKLABEL_"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, capture_output=True, text=True,
                          env={**clean, "SECRET_KEY": secrets.token_urlsafe(50), **env}, timeout=120)


def test_check_deploy_is_clean_with_the_production_environment():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_settings_come_from_the_environment():
    probe = ("from django.conf import settings as s; print(s.SECURE_PROXY_SSL_HEADER, s.SECURE_HSTS_SECONDS, "
             "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT)")
    result = _manage("shell", "--no-imports", "-c", probe, **PRODUCTION_ENV)
    assert result.stdout.strip().splitlines()[-1].split() == ["('HTTP_X_FORWARDED_PROTO',", "'https')", "31536000", "True", "True", "True"], (
        result.stdout + result.stderr)
    result = _manage("shell", "--no-imports", "-c", probe, DJANGO_DEBUG="0", DJANGO_SETTINGS_MODULE="webapp.settings.base",
                     CLICKLABEL_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert result.returncode != 0 and "CLICKLABEL_SECURE_PROXY_SSL_HEADER" in result.stderr


@pytest.mark.parametrize("password", ["password123", "12345678901", "qwertyuiop", "annotator-1"])
def test_common_numeric_short_or_user_like_passwords_are_refused(db, password):
    user = make_user("annotator-1")
    with pytest.raises(ValidationError):
        validate_password(password, user=user)


def test_a_strong_password_passes(db):
    validate_password("violet-harbour-lantern-93", user=make_user("someone"))


# --- login throttling ---------------------------------------------------------------------------------

@pytest.fixture
def lockout(settings):
    settings.AXES_FAILURE_LIMIT = FAILURES


def _admin_login(client: Client, password: str):
    return client.post("/admin/login/", {"username": "boss", "password": password, "next": "/admin/"})


def _page_login(client: Client, password: str):
    return client.post("/accounts/login/", {"username": "boss", "password": password})


def _token(client: Client, password: str):
    return client.post("/api/auth/token/", {"username": "boss", "password": password},
                       content_type="application/json")


LOGINS = {"admin": _admin_login, "login page": _page_login, "api token": _token}
SUCCESS = {"admin": 302, "login page": 302, "api token": 200}


@pytest.mark.parametrize("path", list(LOGINS))
def test_repeated_failures_lock_the_login_out(db, lockout, path):
    make_user("boss", is_staff=True, is_superuser=True)
    login = LOGINS[path]
    assert login(Client(), "pw-boss").status_code == SUCCESS[path]  # the right password works at first
    client = Client()
    for _ in range(FAILURES):
        assert login(client, "wrong-guess").status_code in (200, 400, 429)
    locked = login(client, "pw-boss")  # now even the right password is refused
    assert locked.status_code == 429, (locked.status_code, locked.content[:300])


def test_a_lockout_on_one_path_holds_on_the_others(db, lockout):
    make_user("boss")
    client = Client()
    for _ in range(FAILURES):
        _page_login(client, "wrong-guess")
    assert _token(client, "pw-boss").status_code == 429
    assert _token(client, "pw-boss").json()["error"]["code"] == "locked_out"
