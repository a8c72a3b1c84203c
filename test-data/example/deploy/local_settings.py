# This server's settings for mysite. The `mysite` RPM installs this file once
# (mode 0640, group mysite) and never overwrites your edits; a changed
# default from a newer release lands beside it as local_settings.py.rpmnew.
SECRET_KEY = "replace-me-with-a-long-random-string"
ALLOWED_HOSTS = ["localhost"]
# DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "mysite", "HOST": "db.example.com"}}
