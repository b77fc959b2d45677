"""
WSGI entry point, as used by gunicorn (``gunicorn config.wsgi``) and runserver.

Refuses to start without a secret key: settings leave it empty when DEBUG is
off and DJANGO_SECRET_KEY is unset, so that commands which sign nothing still
run, but nothing may serve requests with it.
"""

import os

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()


def _require_secret_key():
    from django.conf import settings

    try:
        settings.SECRET_KEY  # noqa: B018 - Django raises when it is empty
    except ImproperlyConfigured as error:
        raise ImproperlyConfigured(settings.SECRET_KEY_MISSING) from error


_require_secret_key()
