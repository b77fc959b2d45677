"""
Settings for the Art. 30 register, read from the environment.

Every value comes from an environment variable (or a ``.env`` file beside
``manage.py`` when one exists); see ``.env.example`` for the full list. The
defaults are safe for production: DEBUG is off and a secret key is required
unless DEBUG is switched on explicitly.
"""

import datetime
import os
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")


def env_list(name, default=""):
    """A comma-separated variable as a list, spaces stripped, blanks dropped."""
    return [item.strip() for item in env.str(name, default).split(",") if item.strip()]


# ---------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Read verbatim: django-environ would take a value starting with "$" (as Django's
# generated keys can) for a reference to another variable.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
SECRET_KEY_MISSING = (
    "DJANGO_SECRET_KEY is not set. Set it to a long random value "  # noqa: S105
    "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
    "or set DJANGO_DEBUG=true for local development."
)
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"  # noqa: S105
# Without DEBUG an empty key stays empty: commands that sign nothing (migrate,
# makemigrations, cron jobs) still run, and serving refuses to start
# (config/wsgi.py) with SECRET_KEY_MISSING.

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else ""
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # django.contrib.admin, with a site that asks for the second factor.
    "ropa.login.apps.RegisterAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_countries",
    "simple_history",
    "import_export",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "controllers",
    "subjects",
    "ropa",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # On every response, the refusals below included.
    "ropa.core.middleware.ContentSecurityPolicyMiddleware",
    # Before anything reads a parameter into a query: PostgreSQL refuses NUL.
    "ropa.core.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Whether the user gave their second factor; until they do, the admin
    # shows them the code step only (ropa.login).
    "django_otp.middleware.OTPMiddleware",
    "ropa.login.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records the acting user on every history row written during a request.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: refuses logins that are locked out.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ---------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------

# The default is an SQLite file at an absolute path, so that cron jobs run from
# another working directory use the same database.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'ropa.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# Behind PgBouncer in transaction pooling mode, server-side cursors must be
# off (Django's rule); the exports then fetch each table whole, not streamed.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
    "DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL compiles a query whose estimated cost is high (the Art. 30
    # completeness rules are 19 subqueries) to machine code first: seconds of
    # compiling for a query that runs in tens of milliseconds. The register's
    # queries are short; switch the JIT off for our connections. A JIT set in
    # DATABASE_URL's own options is kept.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    if not re.search(r"\bjit\s*=", _options.get("options", "")):
        _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ---------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # "aaaaaaaaaaaa" and "Summer2024!!" pass the four above (ropa.login.passwords).
    {
        "NAME": "ropa.login.passwords.DistinctCharactersValidator",
        "OPTIONS": {"min_distinct": 6},
    },
    {"NAME": "ropa.login.passwords.SeasonalPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out login is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Brute-force protection (django-axes): after AXES_FAILURE_LIMIT failed logins
# for one username from one address, that pair is locked for the cool-off
# period; other users and addresses are unaffected (locking by address alone
# would let an attacker lock everyone out).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(
    minutes=env.int("AXES_COOLOFF_MINUTES", default=15)
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# A username guessed from many addresses is locked everywhere after
# ROPA_USERNAME_FAILURE_LIMIT failures within the last
# ROPA_USERNAME_COOLOFF_MINUTES, each failure counted for one window from its
# own time: an attacker keeps a DPO out only while they keep guessing
# (ropa.login.lockout).
AXES_HANDLER = "ropa.login.lockout.LockoutHandler"
ROPA_USERNAME_FAILURE_LIMIT = env.int("ROPA_USERNAME_FAILURE_LIMIT", default=6)
ROPA_USERNAME_COOLOFF_TIME = datetime.timedelta(
    minutes=env.int("ROPA_USERNAME_COOLOFF_MINUTES", default=5)
)
# The handler forgets the failures once the whole login succeeded (the code
# too, where one is asked): a known password must not reset wrong codes.
AXES_RESET_ON_SUCCESS = False
# Attempts refused during a lockout do not prolong it: the user retrying from
# the office is not locked out longer than the attacker made them.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Lockouts are logged; the start-up banner would fill cron logs.
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "ropa.core.client_ip.client_ip"
# Axes keeps the form of a failed login (AccessAttempt.post_data): never the
# codes of the second step in clear (axes' defaults, plus "code").
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]
# One row per failure with its time (AccessFailureLog): the username lock
# counts the failures of its last window from these (ropa.login.lockout).
AXES_ENABLE_ACCESS_FAILURE_LOG = True

# Two-factor login (django-otp, ropa.login): required for superusers and DPOs,
# optional for other staff. The name authenticator apps show for the account.
OTP_TOTP_ISSUER = env.str("ROPA_TWO_FACTOR_ISSUER", default="RoPA")
# The admin's device pages (superusers') show no secret or recovery code of a
# device once it exists.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Admin sessions end after a working day, and when the browser closes.
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# ---------------------------------------------------------------------------
# Internationalisation
# ---------------------------------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="Europe/Stockholm")
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------
# Static files
# ---------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Hashed, compressed files served by whitenoise; needs collectstatic.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
    # "imports": where import uploads wait for their confirmation; set with
    # the register's settings below (ROPA_IMPORT_STORAGE).
}

# ---------------------------------------------------------------------------
# E-mail
# ---------------------------------------------------------------------------

EMAIL_CONFIG = env.email_url(
    "EMAIL_URL",
    default="consolemail://" if DEBUG else "smtp://localhost:25",
)
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="ropa@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# ---------------------------------------------------------------------------
# Security (production values unless DEBUG is on)
# ---------------------------------------------------------------------------

SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int(
    "DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts, styles, images and fonts from this site only, no inline script or
# style, no framing, forms posted to this site only
# (ropa.core.middleware.ContentSecurityPolicyMiddleware); empty sends none.
CONTENT_SECURITY_POLICY = env.str(
    "DJANGO_CONTENT_SECURITY_POLICY",
    default="default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)
BEHIND_PROXY = env.bool("DJANGO_BEHIND_TLS_PROXY", default=False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# ---------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # Lockouts are warnings; every successful login is not news.
        "axes": {"level": "WARNING"},
    },
}

# ---------------------------------------------------------------------------
# django-simple-history
# ---------------------------------------------------------------------------

# Change reasons are free text: a CharField(100) would fail on PostgreSQL and
# silently keep a long reason on SQLite.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
# "As of a date" reads filter on history_date per record: index both together.
SIMPLE_HISTORY_DATE_INDEX = "composite"
# History is evidence: the admin never rewrites a record from an old version.
SIMPLE_HISTORY_REVERT_DISABLED = True

# ---------------------------------------------------------------------------
# django-import-export
# ---------------------------------------------------------------------------

# Without these codes any staff user could import and export every model.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
# The resources neutralise formula-looking cells themselves (ropa.core.spreadsheet).
# The library's escaping deletes one leading "=" and writes every XLSX cell as
# text with str(): empty dates become "None", numbers and booleans become text.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = False

# ---------------------------------------------------------------------------
# The register
# ---------------------------------------------------------------------------

# Days between two reviews of the same processing activity.
ROPA_REVIEW_INTERVAL_DAYS = env.int("ROPA_REVIEW_INTERVAL_DAYS", default=365)
# Seconds the dashboard may spend computing the health figures of finished
# months that are not kept yet (ropa.health); 0: only `compute_health` does.
ROPA_HEALTH_BUDGET_SECONDS = env.float("ROPA_HEALTH_BUDGET_SECONDS", default=1.0)
# The most activities a PDF or Word document may hold when asked for in the
# admin: about 75 ms an activity, so larger ones would outlast the web
# server's timeout; `export_register --format pdf` writes any size.
ROPA_ADMIN_DOCUMENT_MAX_ACTIVITIES = env.int(
    "ROPA_ADMIN_DOCUMENT_MAX_ACTIVITIES", default=500
)
# The user the yearly review records its changes under (created, unable to log in).
ROPA_SYSTEM_USERNAME = env.str("ROPA_SYSTEM_USERNAME", default="ropa-system")
# Largest register file an import accepts.
ROPA_IMPORT_MAX_BYTES = env.int("ROPA_IMPORT_MAX_BYTES", default=10 * 1024 * 1024)
# The most rows an import reads from a sheet (its heading row included), and
# the most cells from a file, in both imports: counted as the file is read,
# refused at the first row past either (ropa.core.rows).
ROPA_IMPORT_MAX_ROWS = env.int("ROPA_IMPORT_MAX_ROWS", default=100_000)
ROPA_IMPORT_MAX_CELLS = env.int("ROPA_IMPORT_MAX_CELLS", default=3_000_000)
# Where the uploads of every admin import (personal data) wait between the
# preview and the confirmation, which may reach another app server:
# "filesystem", a private folder (created 0700; refused if it is a link, another
# user's, or open to other users); or "s3", an S3-compatible bucket that every
# app server reaches (django-storages). See README, "Operations".
ROPA_IMPORT_STORAGE = env.str("ROPA_IMPORT_STORAGE", default="filesystem")
ROPA_IMPORT_UPLOAD_DIR = env.str("ROPA_IMPORT_UPLOAD_DIR", default="") or str(
    BASE_DIR / "var" / "ropa-imports"
)
if ROPA_IMPORT_STORAGE == "filesystem":
    STORAGES["imports"] = {"BACKEND": "ropa.core.uploads.ImportUploadStorage"}
elif ROPA_IMPORT_STORAGE == "s3":
    _sse = env.str("ROPA_IMPORT_S3_SERVER_SIDE_ENCRYPTION", default="")
    _kms_key = env.str("ROPA_IMPORT_S3_KMS_KEY_ID", default="")
    STORAGES["imports"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("ROPA_IMPORT_S3_BUCKET"),
            # Keys under this prefix; the bucket may hold other things.
            "location": env.str("ROPA_IMPORT_S3_PREFIX", default="ropa-imports"),
            # Unset: AWS itself (with its region), else MinIO, Ceph, etc.
            "endpoint_url": env.str("ROPA_IMPORT_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("ROPA_IMPORT_S3_REGION", default="") or None,
            # "path" for most S3-compatible servers; unset: boto3 chooses.
            "addressing_style": env.str("ROPA_IMPORT_S3_ADDRESSING_STYLE", default="")
            or None,
            # Unset: boto3's own chain (AWS_ACCESS_KEY_ID..., an instance role).
            "access_key": env.str("ROPA_IMPORT_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("ROPA_IMPORT_S3_SECRET_ACCESS_KEY", default="")
            or None,
            # Objects inherit the bucket's (private) access; nothing is shared
            # by URL, and an existing key is never overwritten.
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            # "AES256" or "aws:kms" (with ROPA_IMPORT_S3_KMS_KEY_ID, or the
            # bucket's key); unset: the bucket's default encryption.
            "object_parameters": {
                **({"ServerSideEncryption": _sse} if _sse else {}),
                **({"SSEKMSKeyId": _kms_key} if _kms_key else {}),
            },
        },
    }
else:
    raise ImproperlyConfigured(
        f"ROPA_IMPORT_STORAGE is {ROPA_IMPORT_STORAGE!r}: set it to "
        "'filesystem' (the default) or 's3'."
    )
# The name shown as the controller group in the public privacy notice.
ROPA_GROUP_NAME = env.str("ROPA_GROUP_NAME", default="")
