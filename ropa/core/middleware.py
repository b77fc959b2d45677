"""
What every request and response goes through, before any view.

- ``RefuseNulMiddleware``: a request that carries a NUL character is refused
  with 400. No text the register holds contains one, and PostgreSQL refuses
  it in any query (a ``DataError``, which would be a 500 from whichever view
  first passed the value on).
- ``ContentSecurityPolicyMiddleware``: every response tells the browser to run
  only the scripts and styles the site serves as files, so that a value
  someone slipped into the register can never run as code on a page.
"""

import contextlib

from django.conf import settings
from django.http import HttpResponseBadRequest

NUL = "\x00"
NUL_REFUSED = (
    "Bad request: it contains a NUL character (%00), which no field of the "
    "register can hold. Remove it and try again."
)
CSP_HEADER = "Content-Security-Policy"


def _carries_nul(request):
    """
    Whether the path, a query or form parameter (name or value), a cookie or
    a header of ``request`` holds NUL, typed as such or written ``%00``.
    """
    if NUL in request.path:
        return True
    parameters = [*request.GET.lists(), *request.COOKIES.items()]
    if request.method == "POST":
        # A client that went away while sending the form (OSError) is
        # answered by CSRF's check and the view, as always.
        with contextlib.suppress(OSError):
            parameters.extend(request.POST.lists())
    for name, values in parameters:
        values = values if isinstance(values, list) else [values]
        if NUL in name or any(NUL in value for value in values):
            return True
    return any(
        NUL in value
        for name, value in request.META.items()
        if name.startswith("HTTP_") and isinstance(value, str)
    )


class RefuseNulMiddleware:
    """Answers 400, in plain words, to a request that carries a NUL character."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _carries_nul(request):
            return HttpResponseBadRequest(
                NUL_REFUSED, content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """
    Sends ``settings.CONTENT_SECURITY_POLICY`` with every response that has
    no policy of its own; an empty setting sends none.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and CSP_HEADER not in response:
            response[CSP_HEADER] = policy
        return response
