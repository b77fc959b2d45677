"""
The production settings, each read in a fresh process.

Settings are read once per process, so each case runs ``manage.py`` in a
subprocess with its own environment.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGE = REPO_ROOT / "manage.py"
ALLOWED_HOSTS = "ropa.example.com, www.example.com"


def _secret_key():
    # 50 characters, as Django generates them; W009 wants at least that many.
    return get_random_secret_key()


def _environ(**variables):
    """The test run's environment without the settings it chose, plus ``variables``."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DJANGO_") and name != "DATABASE_URL"
    }
    environ.update(variables)
    return environ


def _production_environ(**variables):
    production = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": _secret_key(),
        "DJANGO_ALLOWED_HOSTS": ALLOWED_HOSTS,
    }
    return _environ(**{**production, **variables})


def _manage(*args, env, cwd=REPO_ROOT):
    return subprocess.run(  # noqa: S603 - a fixed command line, no shell
        [sys.executable, str(MANAGE), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _setting(expression, env, cwd=REPO_ROOT):
    """The JSON value of ``expression`` over ``settings`` in a fresh process."""
    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        "import json; from django.conf import settings; "
        f"print(json.dumps({expression}))",
        env=env,
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_environ_drops_inherited_settings(monkeypatch):
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "config.test_settings")
    monkeypatch.setenv("DATABASE_URL", "postgres://example/ropa")

    environ = _environ()

    assert "DJANGO_SETTINGS_MODULE" not in environ
    assert "DATABASE_URL" not in environ


def test_check_deploy_production_settings_clean():
    result = _manage(
        "check", "--deploy", "--fail-level", "WARNING", env=_production_environ()
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


SERVE_COMMANDS = {
    # gunicorn imports the WSGI application; so does runserver.
    "wsgi": [sys.executable, "-c", "import config.wsgi"],
    "runserver": [
        sys.executable,
        str(MANAGE),
        "runserver",
        "--noreload",
        "127.0.0.1:0",
    ],
}


@pytest.mark.parametrize("command", sorted(SERVE_COMMANDS))
@pytest.mark.parametrize(
    "variables",
    [
        {"DJANGO_DEBUG": "false"},
        {},
        {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": ""},
    ],
    ids=["debug-off", "debug-unset", "empty-key"],
)
def test_serving_refuses_to_start_without_secret_key(command, variables):
    result = subprocess.run(  # noqa: S603 - a fixed command line, no shell
        SERVE_COMMANDS[command],
        cwd=REPO_ROOT,
        env=_environ(DJANGO_ALLOWED_HOSTS=ALLOWED_HOSTS, **variables),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_commands_that_sign_nothing_run_without_secret_key():
    result = _manage(
        "makemigrations", "--check", "--dry-run", env=_environ(DJANGO_DEBUG="false")
    )

    assert result.returncode == 0, result.stderr


def test_secret_key_optional_with_debug():
    result = _manage("check", env=_environ(DJANGO_DEBUG="true"))

    assert result.returncode == 0, result.stderr


def test_secret_key_starting_with_dollar_used_verbatim():
    secret_key = "$" + _secret_key()[1:]

    value = _setting(
        "settings.SECRET_KEY", env=_production_environ(DJANGO_SECRET_KEY=secret_key)
    )

    assert value == secret_key


@pytest.mark.parametrize(
    "allowed_hosts",
    [ALLOWED_HOSTS, " ropa.example.com ,, www.example.com , "],
    ids=["space-after-comma", "spaces-and-blanks"],
)
def test_allowed_hosts_stripped_of_spaces(allowed_hosts):
    value = _setting(
        "settings.ALLOWED_HOSTS",
        env=_production_environ(DJANGO_ALLOWED_HOSTS=allowed_hosts),
    )

    assert value == ["ropa.example.com", "www.example.com"]


def test_default_sqlite_path_absolute_and_independent_of_working_directory(
    tmp_path,
):
    expression = "str(settings.DATABASES['default']['NAME'])"

    from_repo = _setting(expression, env=_production_environ())
    from_elsewhere = _setting(expression, env=_production_environ(), cwd=tmp_path)

    assert Path(from_repo).is_absolute()
    assert from_repo == from_elsewhere == str(REPO_ROOT / "ropa.sqlite3")


def test_database_url_overrides_default():
    engine = _setting(
        "settings.DATABASES['default']['ENGINE']",
        env=_production_environ(DATABASE_URL="postgres://ropa@db.example.com/ropa"),
    )

    assert engine == "django.db.backends.postgresql"


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("postgres://ropa@db.example.com/ropa", "-c jit=off"),
        (
            "postgres://ropa@db.example.com/ropa?options=-c%20statement_timeout%3D5000",
            "-c statement_timeout=5000 -c jit=off",
        ),
        ("postgres://ropa@db.example.com/ropa?options=-c%20jit%3Don", "-c jit=on"),
        (
            "postgres://ropa@db.example.com/ropa?options=-c%20search_path%3Djitter",
            "-c search_path=jitter -c jit=off",
        ),
    ],
)
def test_postgresql_connections_switch_the_jit_off(url, options):
    # The JIT spent seconds compiling the completeness filter's query.
    setting = _setting(
        "settings.DATABASES['default']['OPTIONS'].get('options')",
        env=_production_environ(DATABASE_URL=url),
    )

    assert setting == options


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("true", True)])
def test_server_side_cursors_can_be_switched_off_for_pgbouncer(value, expected):
    variables = {"DATABASE_URL": "postgres://ropa@db.example.com/ropa"}
    if value is not None:
        variables["DATABASE_DISABLE_SERVER_SIDE_CURSORS"] = value
    setting = _setting(
        "settings.DATABASES['default']['DISABLE_SERVER_SIDE_CURSORS']",
        env=_production_environ(**variables),
    )

    assert setting is expected


@pytest.mark.django_db
def test_the_jit_is_off_on_the_test_database():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def test_every_variable_the_settings_read_is_listed_in_env_example():
    """``.env.example`` is where an operator learns what can be set."""
    source = (REPO_ROOT / "config" / "settings.py").read_text()
    read = set(
        re.findall(
            r'(?:\benv(?:\.\w+)?|\benv_list|os\.environ\.get)\(\s*"([A-Z][A-Z0-9_]+)"',
            source,
        )
    )
    example = (REPO_ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))

    assert {"DJANGO_SECRET_KEY", "ROPA_IMPORT_MAX_ROWS", "EMAIL_URL"} <= read
    assert read - listed == set()
