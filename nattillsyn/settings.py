"""Settings come only from environment variables (see nattillsyn/env.py).

The defaults run the embedded demo on SQLite; production sets DATABASE_URL-style
PG* variables, a real SECRET_KEY, grant key and gateway token.
"""

from __future__ import annotations

import os
from pathlib import Path

from nattillsyn.env import ConfigError, env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("NATTILLSYN_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
DEMO_MODE = env_bool("NATTILLSYN_DEMO", True)
SECRET_KEY = env_str("SECRET_KEY", "demo-secret-key-change-me" if DEMO_MODE else "")
if not SECRET_KEY:
    raise ConfigError("SECRET_KEY must be set when NATTILLSYN_DEMO is off")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "accounts",
    "audit",
    "people",
    "cameras",
    "checks",
    "notifications",
    "console",
    "reports",
    "letters",
    "sso",
    "monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "nattillsyn.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.SessionSecurityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.refusals.AuditRefusalsMiddleware",  # every 404/403 a view raises is audited (ASVS 16.3)
]

ROOT_URLCONF = "nattillsyn.urls"
WSGI_APPLICATION = "nattillsyn.wsgi.application"

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
                "django.template.context_processors.i18n",
                "accounts.context_processors.memberships",
            ],
            # {% load codes %}: words for stored codes (nattillsyn/codes.py).
            "libraries": {"codes": "nattillsyn.codes"},
        },
    },
]

DB_ENGINE = env_str("DB", "sqlite")
if DB_ENGINE == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env_str("PGDATABASE", "nattillsyn"),
            "USER": env_str("PGUSER", "postgres"),
            "PASSWORD": env_str("PGPASSWORD", ""),
            "HOST": env_str("PGHOST", "127.0.0.1"),
            "PORT": env_str("PGPORT", "5432"),
            "CONN_MAX_AGE": env_int("PG_CONN_MAX_AGE", 60),
            # Per process, like SQLite below: concurrent runs never drop each other's database.
            "TEST": {"NAME": env_str("PGTESTDATABASE", f"test_nattillsyn_{os.getpid()}")},
        }
    }
elif DB_ENGINE == "sqlite":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "nattillsyn.sqlite3")),
            # Web, worker and gateway callbacks write at once: WAL lets readers go on,
            # IMMEDIATE avoids the lock-upgrade deadlock, the timeout rides out bursts.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not memory: the end-to-end tests' live server answers the gateway
            # from its own thread, which must have its own connection.
            # Per process, so two test runs on one machine never share a database.
            "TEST": {"NAME": env_str("SQLITE_TEST_PATH", str(VAR_DIR / f"test-nattillsyn-{os.getpid()}.sqlite3"))},
        }
    }
else:
    raise ConfigError(f"DB={DB_ENGINE!r}: use 'sqlite' or 'postgres'")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",  # verifies older hashes, upgraded at next login
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_MAX_AGE_S", 12 * 3600)  # absolute lifetime: one night shift
SESSION_IDLE_TIMEOUT_S = env_int("SESSION_IDLE_TIMEOUT_S", 15 * 60)
LOGIN_LOCKOUT_FAILURES = env_int("LOGIN_LOCKOUT_FAILURES", 5)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)
TOTP_ISSUER = env_str("TOTP_ISSUER", "Nattillsyn")
# Security keys (WebAuthn): the relying party id is the host name reached unless set here.
WEBAUTHN_RP_ID = env_str("WEBAUTHN_RP_ID", "")
WEBAUTHN_CHALLENGE_S = env_int("WEBAUTHN_CHALLENGE_S", 120)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Reverse proxies in front of the web process that append to X-Forwarded-For
# (nattillsyn/net.py). 0: the socket's peer is the client and the header is ignored, as
# it must be when the web process can be reached directly; a too-high count would let
# a client choose its own address, and so pass a municipality's camera network rule.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Single sign-on: how long to wait for an identity provider's discovery, keys and tokens.
SSO_HTTP_TIMEOUT_S = env_int("SSO_HTTP_TIMEOUT_S", 10)
if not 0 <= TRUSTED_PROXY_COUNT <= 5:
    raise ConfigError(f"TRUSTED_PROXY_COUNT={TRUSTED_PROXY_COUNT}: use the number of proxies in front, 0 to 5")
if TRUSTED_PROXY_COUNT:
    # The proxy ends TLS and says so; only trusted when a proxy is declared in front (and
    # the web process is then reachable through it only, docs/OPERATIONS.md).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEMO_MODE:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Called on the internal network, not through the proxy: the gateway's calls, the
    # monitoring scrape and the load balancer's health check (the proxy refuses the first two).
    SECURE_REDIRECT_EXEMPT = [r"^internal/", r"^metrics$", r"^health$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", "Svenska"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Stockholm"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Camera gateway (docs/GATEWAY_PROTOCOL.md)
GRANT_KEY = env_str("NATTILLSYN_GRANT_KEY", "demo-grant-key-change-me" if DEMO_MODE else "")
GATEWAY_TOKEN = env_str("NATTILLSYN_GATEWAY_TOKEN", "demo-gateway-token-change-me" if DEMO_MODE else "")
GATEWAY_URL = env_str("NATTILLSYN_GATEWAY_URL", "http://127.0.0.1:8010")  # the control plane's calls
# Where browsers reach the gateway (WHEP): behind the reverse proxy in production
# (https://gw.example.se); empty: the same as NATTILLSYN_GATEWAY_URL (the demo).
GATEWAY_PUBLIC_URL = env_str("NATTILLSYN_GATEWAY_PUBLIC_URL", "")
# More than one gateway: the administrator lists them (Django admin, cameras.Gateway) and
# each camera's site picks them (cameras/gateways.py). With none listed, the one above
# serves every camera under this id ("*": any gateway accepts its grants, as before).
GATEWAY_ID = env_str("NATTILLSYN_GATEWAY_ID", "*")
# A listed gateway polls /internal/gateway/revoked every second; silent this long, it is
# taken for down and new grants go to the next gateway of the camera's site.
GATEWAY_HEARTBEAT_TIMEOUT_S = env_float("NATTILLSYN_GATEWAY_HEARTBEAT_TIMEOUT_S", 3.0, minimum=1.5, maximum=60)
# A browser that lost its gateway says so when the operator reopens; the control plane asks
# that gateway's /health itself, waiting at most this long, before it believes it.
GATEWAY_SUSPECT_PROBE_S = env_float("NATTILLSYN_GATEWAY_SUSPECT_PROBE_S", 0.5, minimum=0.1, maximum=5)
# Web Push to the night patrol's phones (notifications/, docs/ARCHITECTURE.md). The VAPID
# private key (PEM) signs every push; without one push is off in production and the patrol
# page polls and beeps instead. The demo makes a key of its own in VAR_DIR on first use.
PUSH_VAPID_PRIVATE_KEY = env_str("NATTILLSYN_VAPID_PRIVATE_KEY", "")
PUSH_VAPID_DEMO_KEY_PATH = VAR_DIR / "vapid-demo-private.pem"
# Who runs this installation, for push services to contact (RFC 8292 "sub").
PUSH_VAPID_SUBJECT = env_str("NATTILLSYN_VAPID_SUBJECT", "mailto:drift@nattillsyn.invalid")
# The server posts to whatever endpoint a phone hands it, so only these push services (a host
# or its subdomains) are accepted: otherwise a login could make the server post inside the network.
PUSH_SERVICE_HOSTS = env_list(
    "NATTILLSYN_PUSH_SERVICE_HOSTS",
    "fcm.googleapis.com,push.services.mozilla.com,web.push.apple.com,notify.windows.com",
)
PUSH_TIMEOUT_S = env_int("NATTILLSYN_PUSH_TIMEOUT_S", 5)
# Send from a background thread after the commit, so neither the worker's tick nor an
# operator's click waits for a push service (tests send in line).
PUSH_IN_BACKGROUND = env_bool("NATTILLSYN_PUSH_IN_BACKGROUND", True)
# TURN for viewers on networks without UDP (docs/NETWORKS.md): the URLs browsers get with
# each grant (none: direct only) and the secret shared with coturn and the gateway.
TURN_URLS = env_str("NATTILLSYN_TURN_URLS", "")
TURN_SECRET = env_str("NATTILLSYN_TURN_SECRET", "demo-turn-secret-change-me" if DEMO_MODE else "")
# Camera credentials are stored encrypted with this Fernet key (urlsafe base64, 32 bytes).
CAMERA_CREDENTIALS_KEY = env_str(
    "NATTILLSYN_CAMERA_CREDENTIALS_KEY",
    "ZGVtby1jYW1lcmEta2V5LWNoYW5nZS1tZS0zMmJ5dGU=" if DEMO_MODE else "",
)
# How long audit entries are kept (default 5 years); `manage.py enforce_audit_retention`
# and the worker, once a day, remove older ones, keeping the chain verifiable.
# The rule followed (docs/PRIVACY.md): night supervision is granted under the Social
# Services Act (socialtjänstlagen 2025:400), so the log is social-services documentation
# under lag (2001:454) om behandling av personuppgifter inom socialtjänsten and is thinned
# as the person's social-services file is, five years after the last entry (as SoL
# 2001:453 12 kap. 1 § had it) unless the municipality's archive rules say otherwise.
# Not patientdatalagen (2008:355) or HSLF-FS 2016:40: those apply only where the service
# is given as home health care; such a municipality sets this after its health-care rules.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 1826)
# Where a batch of letters "who looked at me" is written for printing (letters app):
# personal data, so outside the static files, served only by the access-checked view.
LETTERS_DIR = Path(env_str("NATTILLSYN_LETTERS_DIR", str(VAR_DIR / "letters")))
# Log review: a user opening cameras of more than this many persons within the window is flagged.
AUDIT_FLAG_MANY_PERSONS = env_int("AUDIT_FLAG_MANY_PERSONS", 15)
AUDIT_FLAG_WINDOW_MIN = env_int("AUDIT_FLAG_WINDOW_MIN", 10)
# Where the worker appends the audit chain's head every hour (export_audit_head); empty: not.
AUDIT_HEAD_EXPORT_PATH = env_str("AUDIT_HEAD_EXPORT_PATH", "")
# Prometheus scrapes /metrics with this bearer token (docs/OPERATIONS.md); empty: no endpoint.
METRICS_TOKEN = env_str("NATTILLSYN_METRICS_TOKEN", "")
# host:port where each worker serves its own figures (tick time, failures) with that token.
WORKER_METRICS_BIND = env_str("NATTILLSYN_WORKER_METRICS_BIND", "")
AUDIT_CHAIN_KEY = env_str("NATTILLSYN_AUDIT_KEY", "demo-audit-key-change-me" if DEMO_MODE else "")
for _name, _value in [
    ("NATTILLSYN_GRANT_KEY", GRANT_KEY),
    ("NATTILLSYN_GATEWAY_TOKEN", GATEWAY_TOKEN),
    ("NATTILLSYN_CAMERA_CREDENTIALS_KEY", CAMERA_CREDENTIALS_KEY),
    ("NATTILLSYN_AUDIT_KEY", AUDIT_CHAIN_KEY),
]:
    if not _value:
        raise ConfigError(f"{_name} must be set when NATTILLSYN_DEMO is off")

# How long a grant may wait to be used. The check page starts its view as it loads, so
# this only covers a slow page; a late start is opened again (a new grant) instead,
# and an unused grant must not keep a camera out of its privacy position for long.
GRANT_START_WINDOW_S = env_int("NATTILLSYN_GRANT_START_WINDOW_S", 30)
# How many due checks per municipality have their cameras readied before the click
# (checks.actions.checks_to_prepare); 0 turns readying off (the benchmarks' reference).
PREPARE_AHEAD = env_int("NATTILLSYN_PREPARE_AHEAD", 4)
# The hard maximum for one view, whatever a tenant configures.
MAX_VIEW_HARD_LIMIT_S = 60
SIMCAM_API_URL = env_str("SIMCAM_API_URL", "http://127.0.0.1:8555")
# ONVIF cameras (cameras/onvif.py): the longest one request may take, and the longest a
# preset move may take before the camera is reported as faulty. Both are hard limits
# for the worker's tick, which must never hang on a camera.
ONVIF_REQUEST_TIMEOUT_S = env_int("NATTILLSYN_ONVIF_REQUEST_TIMEOUT_S", 4)
ONVIF_MOVE_TIMEOUT_S = env_int("NATTILLSYN_ONVIF_MOVE_TIMEOUT_S", 8)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
