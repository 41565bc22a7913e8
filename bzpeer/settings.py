"""Settings, read from the environment.

Development needs no variables at all: the database defaults to the embedded
PostgreSQL that `make run` / `make test` start under `.data/`, and Celery runs
tasks in-process when `REDIS_URL` is unset. Production (DEBUG off) refuses to
start without a real SECRET_KEY.
"""

import os
from pathlib import Path
from urllib.parse import quote

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
EMBEDDED_PG_DIR = BASE_DIR / ".data" / "pg"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-bzpeer-development-only"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production mode (DEBUG off) needs a long random "
            "SECRET_KEY in the environment, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    SECRET_KEY = _DEV_SECRET_KEY
elif not DEBUG and (
    # Django's own deploy check (security.W009) asks for 5 distinct characters too.
    SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "SECRET_KEY is too weak for production: use at least 50 random characters."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "bzpeer.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "template_partials",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.orcid",
    "works",
    "profiles",
    "profiles.collaboration",
    "graph",
    "bzpeer.outbox",
    "bzpeer.sessions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside the page cache: cached answers get the headers as they leave.
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "bzpeer.private_pages.PrivatePagesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside the page cache, like the headers above: a page a signed-in
    # visit stored for anonymous visitors (bzpeer.pagecache.shared_page)
    # never passed through the middleware below it.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Before sessions and CSRF: an anonymous page from the cache needs neither.
    "bzpeer.pagecache.AnonymousPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "bzpeer.urls"
WSGI_APPLICATION = "bzpeer.wsgi.application"
ASGI_APPLICATION = "bzpeer.asgi.application"

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
                "bzpeer.context_processors.site",
                "profiles.collaboration.context_processors.inbox",
            ],
        },
    }
]


def _embedded_database_url() -> str:
    # The embedded server listens on a Unix socket only; dj-database-url takes a
    # percent-encoded socket directory as the host.
    return f"postgres://postgres@{quote(str(EMBEDDED_PG_DIR), safe='')}/bzpeer"


DATABASE_URL = os.environ.get("DATABASE_URL") or _embedded_database_url()
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
# Django's PostgreSQL backend, checking each connection it takes from the pool
# (bzpeer.db): one PostgreSQL closed meanwhile is replaced, not a failed request.
DATABASES["default"]["ENGINE"] = "bzpeer.db"
# psycopg 3's pool; persistent connections (CONN_MAX_AGE) must stay 0 with it.
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["OPTIONS"] = {
    # SSD-era planner cost: with PostgreSQL's default of 4 the planner prefers
    # scanning whole link tables over a few hundred index lookups for one
    # author's works (measured: 38 ms vs 18 ms for a profile's topic counts).
    "options": f"-c random_page_cost={os.environ.get('DB_RANDOM_PAGE_COST', '1.1')}",
    # Only bzpeer.db.prepared_cursor's statements are ever prepared (Django's cursors
    # bind on the client): each after this many runs on a connection.
    "prepare_threshold": 5,
    "pool": {
        "min_size": int(os.environ.get("DB_POOL_MIN", "1")),
        "max_size": int(os.environ.get("DB_POOL_MAX", "8")),
        # How long a request waits for a connection (PostgreSQL down: then it
        # answers the 503 page, bzpeer.views.server_error).
        "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "10")),
        # How long the pool retries a failed connection in the background (1, 2,
        # 4, 8 s apart) before leaving it to the next request. psycopg_pool's
        # 5 minutes let the gaps grow to minutes: the site stayed down that long
        # after PostgreSQL was back.
        "reconnect_timeout": 10,
    },
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "bzpeer.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "bzpeer",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# How long a call on the Redis cache may wait to connect, or for an answer, before the
# process gives up on Redis for REDIS_CACHE_RETRY_SECONDS (bzpeer.cache): meanwhile
# rate limits count in the process's own memory and pages are built live.
REDIS_CACHE_TIMEOUT = float(os.environ.get("REDIS_CACHE_TIMEOUT", "0.25"))
REDIS_CACHE_RETRY_SECONDS = float(os.environ.get("REDIS_CACHE_RETRY_SECONDS", "5"))
# Sessions live in PostgreSQL (Django's store, its read written out as SQL): signing in
# must not depend on Redis.
SESSION_ENGINE = "bzpeer.sessions.store"

# Anonymous visitors' researcher pages come from the cache (bzpeer.pagecache):
# retired by every change the page shows, and expired after this long anyway
# for the changes nobody announces. A CDN may keep them for the shorter
# shared time, which it cannot be told to cut short.
PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS", "600"))
PAGE_CACHE_SHARED_SECONDS = int(os.environ.get("PAGE_CACHE_SHARED_SECONDS", "60"))
# ... and each web process keeps what it just read for this long (0: never).
PAGE_CACHE_LOCAL_SECONDS = float(os.environ.get("PAGE_CACHE_LOCAL_SECONDS", "1"))

# Celery: a real broker when REDIS_URL is set; otherwise tasks run in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# Where tasks go when sent without a queue, those a worker sends too (a test
# worker on a queue of its own keeps the tasks its tasks send).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE") or "celery"
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A task sent from a web request gives up quickly when the broker is down or
# hung: every socket operation is bounded and a failed publish is not retried
# (the row the task belongs to records that it was not sent, and the beat
# sweep sends it within a minute).
BROKER_SOCKET_TIMEOUT = float(os.environ.get("BROKER_SOCKET_TIMEOUT", "2"))
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_SOCKET_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": BROKER_SOCKET_TIMEOUT,
    "socket_connect_timeout": BROKER_SOCKET_TIMEOUT,
    "max_retries": 1,
}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "graph-slices-stale": {"task": "graph.tasks.graph_slices_queue_stale_task", "schedule": 60.0},
    "outbound-emails-due": {
        "task": "bzpeer.outbox.tasks.outbound_emails_send_due_task",
        "schedule": 60.0,
    },
    # Daily and weekly digests of followed researchers (profiles.digests), in
    # the first run after their period ends; later runs find them sent.
    "follow-digests": {"task": "profiles.tasks.digests_send_task", "schedule": 3600.0},
    # Batched "new messages" mails (profiles.collaboration.notifications).
    "collaboration-message-notices": {
        "task": "profiles.collaboration.tasks.message_notices_send_task",
        "schedule": 60.0,
    },
    # "Bring in my ORCID works" runs pressed while the broker was away, or
    # whose worker died (profiles.orcid_imports).
    "orcid-imports-due": {"task": "profiles.tasks.orcid_imports_send_due_task", "schedule": 60.0},
    # Expired sessions stay in django_session until something deletes them.
    "sessions-clear": {"task": "bzpeer.tasks.sessions_clear_task", "schedule": 3600.0},
    # Pages read a pending invitation past its time as expired already; this
    # makes the rows say so too.
    "invitations-expire": {
        "task": "profiles.collaboration.tasks.invitations_expire_task",
        "schedule": 3600.0,
    },
    # Likely duplicate author records into the staff queue (profiles.duplicates).
    "duplicate-suggestions": {
        "task": "profiles.tasks.duplicate_suggestions_refresh_task",
        "schedule": 86400.0,
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Django's and allauth's, reading the signed-in user with SQL written out.
    "bzpeer.auth_backends.ModelBackend",
    "bzpeer.auth_backends.AuthenticationBackend",
]
SITE_ID = 1
# The site's name in pages, mail subjects and greetings, and authenticator apps.
SITE_NAME = "BZPEER"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
LOGIN_REDIRECT_URL = "/"
# allauth names the site by the request's host ("[127.0.0.1:8137] ...") when
# the Sites framework is not installed.
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
# A person is named by the name they gave at sign-up, else by their address up
# to the @ (allauth's default is the generated user name).
ACCOUNT_USER_DISPLAY = "bzpeer.accounts.person_name"
ACCOUNT_SIGNUP_FORM_CLASS = "bzpeer.accounts.SignupForm"
# Log-in locks per account and address; allauth's mail goes through the outbox
# (bzpeer.outbox), like the site's own.
ACCOUNT_ADAPTER = "bzpeer.accounts.AccountAdapter"
# The client address that rate limits count (allauth's and bzpeer.ratelimit's):
# with 0 the connection's (REMOTE_ADDR), and a client's X-Forwarded-For is
# ignored; behind N proxies that each append to X-Forwarded-For, the address
# N entries from its right (1: the one the proxy in front of the site saw).
_trusted_proxies = os.environ.get("TRUSTED_PROXY_COUNT", "").strip() or "0"
if not _trusted_proxies.isdecimal():
    raise ImproperlyConfigured(
        "TRUSTED_PROXY_COUNT must be a whole number of proxies: 0 when clients connect "
        "directly, 1 behind one proxy that appends to X-Forwarded-For."
    )
ALLAUTH_TRUSTED_PROXY_COUNT = int(_trusted_proxies)
# Stricter than allauth's defaults on the two forms spammers hit first.
# login_failed's key is the account and the address (bzpeer.accounts): five
# failures lock that account for that address only.
ACCOUNT_RATE_LIMITS = {
    "signup": "5/m/ip,30/h/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "reset_password": "5/m/ip,3/m/key",
    "confirm_email": "1/180s/key",
}

# A second factor (allauth.mfa): TOTP apps, with recovery codes for a lost
# phone. Staff pages need a session that used it (bzpeer.staff).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME

# ORCID sign-in: how a claimant proves the ORCID iD on an author record
# (profiles.services.orcid_proven). Register a public API client at
# https://orcid.org/developer-tools (https://sandbox.orcid.org for testing)
# with the redirect URI <site>/accounts/orcid/login/callback/. Without
# ORCID_CLIENT_ID the claim form says ORCID sign-in is not available.
ORCID_BASE_DOMAIN = os.environ.get("ORCID_BASE_DOMAIN", "orcid.org")
# The public API "Bring in my ORCID works" and import_orcid --orcid read
# (works.orcid_api); empty: https://pub.orcid.org/v3.0.
ORCID_API_URL = os.environ.get("ORCID_API_URL", "")
if ORCID_BASE_DOMAIN not in {"orcid.org", "sandbox.orcid.org"}:
    raise ImproperlyConfigured("ORCID_BASE_DOMAIN must be orcid.org or sandbox.orcid.org.")
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {
    "orcid": {"BASE_DOMAIN": ORCID_BASE_DOMAIN, "MEMBER_API": False}
}
if os.environ.get("ORCID_CLIENT_ID"):
    if not os.environ.get("ORCID_SECRET"):
        raise ImproperlyConfigured("ORCID_CLIENT_ID is set but ORCID_SECRET is not.")
    SOCIALACCOUNT_PROVIDERS["orcid"]["APP"] = {
        "client_id": os.environ["ORCID_CLIENT_ID"],
        "secret": os.environ["ORCID_SECRET"],
        "key": "",
    }
# allauth's default: a GET only shows a "continue" page, the sign-in starts with a POST.
SOCIALACCOUNT_LOGIN_ON_GET = False
# Answers ORCID's URLs with a clear 404 page while ORCID is not configured.
SOCIALACCOUNT_ADAPTER = "bzpeer.social.SocialAccountAdapter"

# Rate limits on the site's own actions (claim submissions, code emails, code
# guesses), per account and per IP (bzpeer.ratelimit; same rule syntax as
# ACCOUNT_RATE_LIMITS).
RATE_LIMITS = {
    "claim_submit": "5/h/user,20/h/ip",
    # "These records are also me": an owner's merge request, limited as claims are.
    "duplicate_request": "5/h/user,20/h/ip",
    "split_request": "5/h/user,20/h/ip",
    "claim_email_code": "3/10m/user,10/d/user,20/h/ip",
    "claim_code_check": "10/10m/user,30/h/ip",
    "report_submit": "10/h/user,30/h/ip",
    # Invitations and messages reach a person's inbox: a few an hour is a
    # researcher's pace, a flood is not.
    "invitation_send": "10/h/user,30/d/user,30/h/ip",
    "message_send": "60/10m/user,300/h/user,600/h/ip",
    # Live search asks once per pause in typing: a person searching stays far
    # below this, a script hammering the database does not.
    "search": "60/m/ip,1200/h/ip",
    # Each look-up of a missing work may ask Crossref or arXiv (3 s apart).
    "missing_work_fetch": "20/10m/user,100/d/user,60/h/ip",
    # "Bring in my ORCID works": each press asks ORCID for the whole record.
    "orcid_import": "5/h/user,20/h/ip",
}
# How long a code mailed to a claimant's institutional address works: the mail
# and the claim form both say it from here.
CLAIM_EMAIL_CODE_MINUTES = int(os.environ.get("CLAIM_EMAIL_CODE_MINUTES", "15"))
# Each statement of a researcher search is cancelled after this long (the
# visitor is told to try a more specific name), so no search can hold a
# database connection that other pages wait for.
SEARCH_STATEMENT_TIMEOUT_MS = int(os.environ.get("SEARCH_STATEMENT_TIMEOUT_MS", "2000"))

# Content-Security-Policy (django-csp): the site's own scripts, styles,
# images and fonts only; no inline script or style and no eval anywhere, so
# an injected tag or attribute does nothing. No nonces: anonymous pages are
# shared from the cache (bzpeer.pagecache), where a nonce would be one for
# everyone. htmx is told not to inject its indicator style nor to eval
# (templates/base.html). Forms post to the site, and the ORCID sign-in
# form's redirect goes on to ORCID.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF, f"https://{ORCID_BASE_DOMAIN}"],
    }
}
# Permissions-Policy (django-permissions-policy): the browser features the
# site never uses, denied to it and to anything it might embed. Only names
# Chromium knows: it logs an error for any other (the browser tests fail on it).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "interest-cohort",
        "local-fonts",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Files browsers ask for at the site's root (/favicon.ico), served by whitenoise
# under runserver and gunicorn alike.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# Seconds any one step of talking to the mail server may take (a worker sends
# the mail; a hung server must not hold it forever).
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "BZPEER <noreply@bzpeer.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The site's address in emails sent outside a request (claim decisions).
SITE_URL = os.environ.get("SITE_URL") or (
    "http://127.0.0.1:8000" if DEBUG or not ALLOWED_HOSTS else f"https://{ALLOWED_HOSTS[0]}"
)

# OpenAlex asks API clients to identify themselves with a contact address.
OPENALEX_API_URL = os.environ.get("OPENALEX_API_URL", "https://api.openalex.org")
OPENALEX_MAILTO = os.environ.get("OPENALEX_MAILTO", "dev@bzpeer.localhost")
# Crossref's "polite" pool: requests that name a contact address.
CROSSREF_API_URL = os.environ.get("CROSSREF_API_URL", "https://api.crossref.org")
CROSSREF_MAILTO = os.environ.get("CROSSREF_MAILTO", "dev@bzpeer.localhost")

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    # Templates are cached in production by Django's default loaders when DEBUG is off.

# One line per request: the server's own (runserver's django.server logger,
# gunicorn's --access-logfile) says every answer with its status, so
# django.request keeps to server errors (with their traceback); its "Not
# Found: ..." warnings only said each 4xx a second time. Django's "django"
# logger writes through the root handler only: its own console handler (under
# DEBUG) printed each of its records twice.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO"},
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "INFO"},
    },
}
