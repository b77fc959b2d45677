"""Serving as in production: gunicorn, whitenoise, DEBUG off, collected files."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key

REPO_ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture(scope="module")
def production_server(tmp_path_factory):
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed")
    static_root = tmp_path_factory.mktemp("static")
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": get_random_secret_key(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_STATIC_ROOT": str(static_root),
        # Plain HTTP on the loopback: TLS is the proxy's job in production.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('db') / 'ropa.sqlite3'}",
    }
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run(  # noqa: S603 - our own manage.py
            [sys.executable, "manage.py", *command],
            cwd=REPO_ROOT,
            env=environ,
            check=True,
            capture_output=True,
        )
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - gunicorn on the loopback
        [str(GUNICORN), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=REPO_ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _get(f"{base}/admin/login/")
            break
        except OSError:
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(timeout=10)


def test_gunicorn_serves_the_admin_login(production_server):
    status, headers, body = _get(f"{production_server}/admin/login/")

    assert status == 200
    assert b"Record of processing activities" in body
    assert headers["X-Frame-Options"] == "DENY"


def test_whitenoise_serves_hashed_static_files_with_long_caching(production_server):
    _, _, login = _get(f"{production_server}/admin/login/")
    stylesheet = next(
        part.split('"')[0]
        for part in login.decode().split('href="')[1:]
        if part.split('"')[0].endswith(".css")
    )

    status, headers, _ = _get(f"{production_server}{stylesheet}")

    assert status == 200
    assert stylesheet.count(".") >= 2  # a content hash in the file name
    assert "max-age=315360000" in headers["Cache-Control"]


def test_gunicorn_serves_the_public_notice(production_server):
    status, _, body = _get(f"{production_server}/privacy-notice/")

    assert status == 200
    assert b"<main" in body
