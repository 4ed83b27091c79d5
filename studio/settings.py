"""Settings, all read from the environment (STUDIO_* and DATABASE_URL)."""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url

from studio.core.env import env_bool, env_int, env_list, env_str, studio_home

BASE_DIR = Path(__file__).resolve().parent.parent
STUDIO_HOME = studio_home()
# Private to the account that runs the studio: the database, the secret key and run
# files live below it (0700 whatever the umask; an existing home is left as it is).
STUDIO_HOME.mkdir(mode=0o700, parents=True, exist_ok=True)

DEBUG = env_bool("STUDIO_DEBUG", False)


def _secret_key() -> str:
    key = env_str("STUDIO_SECRET_KEY")
    if key:
        return key
    # Local single-user installs keep a generated key beside their database, so
    # sessions survive restarts without anyone shipping a shared default.
    path = STUDIO_HOME / "secret_key"
    if not path.exists():
        _create_private(path, secrets.token_urlsafe(50))
    return path.read_text().strip()


def _create_private(path: Path, text: str = "") -> None:
    """Create ``path`` readable by its owner only from the first byte (not chmod-ed
    after being written); an existing file is left alone."""
    import os

    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as f:
        f.write(text)


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("STUDIO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("STUDIO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "studio.core",
    "studio.accounts",
    "studio.tracking",
    "studio.web",
    "studio.execution",
    "studio.registry",
    "studio.api",
    "studio.audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "studio.api.base.ContentTypeMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "studio.web.context.navigation",  # the saved views in the left navigation
                "studio.web.context.appearance",  # the theme on <html>
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------
# SQLite under STUDIO_HOME by default. WAL lets readers run beside a writer;
# IMMEDIATE takes the write lock at BEGIN so read-then-write transactions queue on
# the busy timeout instead of failing with "database is locked" (docs/requirements.md §0.9).
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": env_int("STUDIO_SQLITE_TIMEOUT", 30),
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}

_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {
        "default": dj_database_url.parse(
            _database_url,
            conn_max_age=env_int("STUDIO_CONN_MAX_AGE", 0),
            conn_health_checks=True,
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's, with a kept connection's health check that needs no round trip.
        DATABASES["default"]["ENGINE"] = "studio.core.postgresql"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": STUDIO_HOME / "studio.sqlite3",
        }
    }
# PostgreSQL: the statements every request runs are prepared once a connection has run
# them 5 times (studio/core/prepared.py); 0 turns that off.
STUDIO_PG_PREPARED = env_bool("STUDIO_PG_PREPARED", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    # Tests that start other processes need a file they can all open.
    _test_name = env_str("STUDIO_TEST_SQLITE")
    if _test_name:
        DATABASES["default"]["TEST"] = {"NAME": _test_name}
    # Persistent connections where a server's threads are reused (``studio server``
    # sets STUDIO_CONN_MAX_AGE): a new SQLite connection reads the whole schema and
    # registers Django's functions again, about 7 ms of CPU a request (issue 16).
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("STUDIO_CONN_MAX_AGE", 0)
    # SQLite gives its -wal and -shm files the database file's mode: 0600 for all.
    _database_file = Path(DATABASES["default"]["NAME"])
    if str(_database_file) != ":memory:" and _database_file.parent.is_dir():
        _create_private(_database_file)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in and API token throttling (studio/accounts/throttle.py): its counts live in
# this cache, files under STUDIO_HOME that every server worker on the machine shares.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(STUDIO_HOME / "cache"),
    }
}
STUDIO_SIGNIN_FAILURE_LIMIT = env_int("STUDIO_SIGNIN_FAILURE_LIMIT", 10)
STUDIO_SIGNIN_ADDRESS_LIMIT = env_int("STUDIO_SIGNIN_ADDRESS_LIMIT", 100)
STUDIO_SIGNIN_WINDOW_SECONDS = env_int("STUDIO_SIGNIN_WINDOW_SECONDS", 15 * 60)
# Proxies whose X-Forwarded-For names the client (studio/core/client.py); behind a
# proxy not named here every client would share the proxy's address.
STUDIO_TRUSTED_PROXIES = env_list("STUDIO_TRUSTED_PROXIES", [])
# Django's backend with the user's preferences (theme) joined into the one user query;
# sessions signed in before it existed keep working through the plain backend.
AUTHENTICATION_BACKENDS = [
    "studio.accounts.backends.PreferenceBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/runs/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # vendor/plotly.min.js, served from the installed plotly package (no CDN, no copy).
    "studio.core.staticfinders.VendorFinder",
]
STATIC_ROOT = STUDIO_HOME / "staticfiles"
# WhiteNoise warns at start-up when STATIC_ROOT is missing.
STATIC_ROOT.mkdir(exist_ok=True)
# `studio server` runs collectstatic (gzip and brotli variants beside each file) and sets
# STUDIO_STATIC_COLLECTED for its workers: WhiteNoise then serves STATIC_ROOT only (files
# found by the finders would win over it and have no compressed variants). Elsewhere
# (tests, `studio server --dev`, manage.py) it serves straight from the finders.
WHITENOISE_USE_FINDERS = not env_bool("STUDIO_STATIC_COLLECTED", False)

# Run files (outputs, logs, images) go through Django's storage API: pointing
# "studio_files" at an object-store backend is a settings change, not a code change.
STUDIO_FILES_ROOT = Path(env_str("STUDIO_FILES_ROOT") or STUDIO_HOME / "files")
# STUDIO_STORAGE: "local" (STUDIO_FILES_ROOT, the default) or "s3" (an S3-compatible
# bucket through django-storages; credentials from the usual AWS_* variables).
STUDIO_STORAGE = env_str("STUDIO_STORAGE", "local").strip().lower() or "local"


def _s3_files_storage() -> dict:
    """The ``studio_files`` storage for ``STUDIO_STORAGE=s3``: django-storages' S3
    backend on ``STUDIO_S3_BUCKET`` (at ``STUDIO_S3_ENDPOINT_URL`` for MinIO, Ceph,
    moto ...; AWS itself when unset). Credentials are boto3's usual chain
    (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, a profile, an instance role),
    never a setting of Studio's. A missing bucket fails here, at start-up."""
    bucket = env_str("STUDIO_S3_BUCKET").strip()
    if not bucket:
        raise ValueError(
            "STUDIO_STORAGE=s3 needs STUDIO_S3_BUCKET (the bucket that keeps run files)."
        )
    endpoint = env_str("STUDIO_S3_ENDPOINT_URL").strip()
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise ValueError(f"STUDIO_S3_ENDPOINT_URL must be an http(s) URL, not {endpoint!r}")
    from botocore.config import Config

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint or None,
            "region_name": env_str("AWS_DEFAULT_REGION") or env_str("AWS_REGION") or None,
            # Keys are built from server ids (runs/<uuid>/<uuid>): nothing to rename.
            "file_overwrite": True,
            "location": env_str("STUDIO_S3_PREFIX").strip("/"),
            "default_acl": None,
            "querystring_auth": False,
            "client_config": Config(
                signature_version="s3v4",
                s3={"addressing_style": "path" if endpoint else "auto"},
                connect_timeout=env_int("STUDIO_S3_CONNECT_TIMEOUT", 5),
                read_timeout=env_int("STUDIO_S3_READ_TIMEOUT", 60),
                # A few quick retries: an unreachable bucket is reported in seconds.
                retries={"mode": "standard", "max_attempts": env_int("STUDIO_S3_ATTEMPTS", 3)},
            ),
        },
    }


def _files_storage() -> dict:
    if STUDIO_STORAGE == "local":
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(STUDIO_FILES_ROOT), "file_permissions_mode": 0o640},
        }
    if STUDIO_STORAGE == "s3":
        return _s3_files_storage()
    raise ValueError(f"STUDIO_STORAGE must be 'local' or 's3', not {STUDIO_STORAGE!r}")


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "studio.core.staticstorage.StudioStaticFilesStorage"},
    "studio_files": _files_storage(),
}
STUDIO_MAX_UPLOAD_BYTES = env_int("STUDIO_MAX_UPLOAD_BYTES", 512 * 1024 * 1024)
# An image pasted into a run description.
STUDIO_MAX_ATTACHMENT_BYTES = env_int("STUDIO_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
# A run whose process has not heartbeat for this long is marked Failed ("lost").
STUDIO_RUN_LEASE_SECONDS = env_int("STUDIO_RUN_LEASE_SECONDS", 60)
# Live pages (Server-Sent Events): how long one stream lasts before the browser
# reconnects (and resumes), how many one user may hold open, how long changes are kept
# for a page that reconnects.
STUDIO_LIVE_LIFETIME_SECONDS = env_int("STUDIO_LIVE_LIFETIME_SECONDS", 300)
STUDIO_LIVE_MAX_STREAMS = env_int("STUDIO_LIVE_MAX_STREAMS", 6)
STUDIO_LIVE_RETENTION_SECONDS = env_int("STUDIO_LIVE_RETENTION_SECONDS", 900)
# Seconds between SIGTERM and SIGKILL when a run is cancelled.
STUDIO_CANCEL_GRACE_SECONDS = env_int("STUDIO_CANCEL_GRACE_SECONDS", 10)
# JSON bodies (metric batches) up to 16 MB; file uploads stream past this limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("STUDIO_MAX_JSON_BYTES", 16 * 1024 * 1024)

# --- Security headers -----------------------------------------------------------
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "studio.web.views.errors.csrf_failure"
SESSION_COOKIE_SECURE = env_bool("STUDIO_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("STUDIO_LOG_LEVEL", "WARNING")},
}

# --- Mail (optional) ---------------------------------------------------------------
# Invitation links are shown to copy; with STUDIO_EMAIL_HOST (or STUDIO_EMAIL_BACKEND)
# set they are also mailed through Django's mail framework. No MAILERS otherwise (an
# empty one would make every manage.py command warn that mail cannot be sent).
if env_str("STUDIO_EMAIL_HOST") or env_str("STUDIO_EMAIL_BACKEND"):
    MAILERS = {}
    MAILERS["default"] = {
        "BACKEND": env_str("STUDIO_EMAIL_BACKEND") or "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": env_str("STUDIO_EMAIL_HOST") or "localhost",
            "port": env_int("STUDIO_EMAIL_PORT", 25),
            "username": env_str("STUDIO_EMAIL_USER"),
            "password": env_str("STUDIO_EMAIL_PASSWORD"),
            "use_tls": env_bool("STUDIO_EMAIL_USE_TLS", False),
        }
        if not env_str("STUDIO_EMAIL_BACKEND")
        else {},
    }
DEFAULT_FROM_EMAIL = env_str("STUDIO_EMAIL_FROM") or "studio@localhost"
