"""mysite's settings. Per-server values (secrets, hosts, the database) live
in /etc/mysite/local_settings.py, which the `mysite` RPM installs once and
never overwrites; /etc/mysite is on the app's import path."""

SECRET_KEY = "set-SECRET_KEY-in-/etc/mysite/local_settings.py"
DEBUG = False
ALLOWED_HOSTS = []
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.staticfiles",
    "mysite",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "/var/lib/mysite/db.sqlite3",
    }
}
ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"
STATIC_URL = "static/"
STATIC_ROOT = "/var/lib/mysite/static"
MEDIA_ROOT = "/var/lib/mysite/media"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

try:
    from local_settings import *  # noqa: F401,F403
except ImportError:
    pass
