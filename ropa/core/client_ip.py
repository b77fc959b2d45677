"""Who is asking: the client address used to lock out password guessing."""

from django.conf import settings


def client_ip(request):
    """
    The client's address.

    Behind the TLS proxy (DJANGO_BEHIND_TLS_PROXY), the last address of
    X-Forwarded-For is the one the proxy itself added; earlier ones are
    whatever the client sent and cannot be trusted. Otherwise REMOTE_ADDR.
    """
    if getattr(settings, "BEHIND_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if addresses:
            return addresses[-1]
    return request.META.get("REMOTE_ADDR")
