"""
HTTP and forms as a browser does them, for the load test's users
(bench/load.py): every response on its own (no redirect followed, no proxy),
and a form's submission built from what its page renders.
"""

import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import lxml.html

#: Input types a browser does not send unless they are the button pressed.
NOT_SENT = frozenset({"submit", "image", "reset", "button", "file"})


# -- HTTP ----------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Each response is measured on its own: a redirect is returned, not followed."""

    def redirect_request(self, *args, **kwargs):
        return None


def opener(jar=None):
    handlers = [
        # No proxy, whatever the environment says: only the loopback is used.
        urllib.request.ProxyHandler({}),
        NoRedirect(),
    ]
    if jar is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(jar))
    return urllib.request.build_opener(*handlers)


def fetch(client, base, path, *, timeout, data=None, content_type=None):
    """Status, headers and body of one request to ``base``; raises on no answer."""
    if not path.startswith("/"):
        raise ValueError(f"Not a path on the test server: {path}")
    headers = {"Content-Type": content_type} if content_type else {}
    request = urllib.request.Request(f"{base}{path}", data=data, headers=headers)  # noqa: S310 - http://127.0.0.1 only
    try:
        with client.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def snippet(body, length=160):
    """The text of an HTML page, squeezed: what an error report quotes."""
    text = re.sub(r"<[^>]+>", " ", body.decode(errors="replace"))
    return re.sub(r"\s+", " ", text).strip()[:length]


# -- forms, as a browser submits them --------------------------------------------


@dataclass
class Form:
    """A form of a page: where it posts, and the (name, value) pairs it sends."""

    action: str
    multipart: bool
    fields: list

    def get(self, name, default=None):
        return next((value for key, value in self.fields if key == name), default)

    def set(self, name, value):
        """Type ``value`` into the field ``name`` (added if the page has none)."""
        for position, (key, _) in enumerate(self.fields):
            if key == name:
                self.fields[position] = (name, value)
                return
        self.fields.append((name, value))

    def encoded(self, *, pressed=None, files=()):
        """
        The body and content type of the submission with the button ``pressed``
        (a (name, value) pair) and ``files`` ((name, file name, bytes, type)).
        """
        fields = [*self.fields, *([pressed] if pressed else [])]
        if not self.multipart:
            return urllib.parse.urlencode(fields).encode(), None
        boundary = secrets.token_hex(16)
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
            f"\r\n\r\n{value}\r\n".encode()
            for name, value in fields
        ]
        for name, file_name, content, content_type in files:
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{file_name}"\r\nContent-Type: {content_type}\r\n\r\n'
            )
            parts.append(head.encode() + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def find_form(body, *, form_id):
    """
    The form with the id ``form_id`` on the page ``body``, or None: every
    input the page renders, as a browser sends it when the user presses a
    button without touching anything.
    """
    document = lxml.html.document_fromstring(body.decode("utf-8", errors="replace"))
    for form in document.forms:
        if form.get("id") == form_id:
            return Form(
                action=form.get("action") or "",
                multipart=(form.get("enctype") or "").lower() == "multipart/form-data",
                fields=successful_controls(form),
            )
    return None


def _disabled(element):
    return element.get("disabled") is not None or bool(
        element.xpath("ancestor::fieldset[@disabled]")
    )


def successful_controls(form):
    """The (name, value) pairs a browser submits for ``form`` (HTML, 4.10.21.4)."""
    pairs = []
    for element in form.xpath(".//input | .//select | .//textarea"):
        name = element.get("name")
        if not name or _disabled(element):
            continue
        if element.tag == "textarea":
            # The parser keeps the newline after <textarea>; browsers drop it,
            # and send line breaks as CRLF.
            text = re.sub(r"^\r?\n", "", element.text or "")
            pairs.append((name, re.sub(r"\r\n|\r|\n", "\r\n", text)))
        elif element.tag == "select":
            pairs += _selected(name, element)
        else:
            kind = (element.get("type") or "text").lower()
            if kind in NOT_SENT or (
                kind in ("checkbox", "radio") and element.get("checked") is None
            ):
                continue
            default = "on" if kind in ("checkbox", "radio") else ""
            pairs.append((name, element.get("value", default)))
    return pairs


def _selected(name, select):
    options = [option for option in select.xpath(".//option") if not _disabled(option)]
    chosen = [option for option in options if option.get("selected") is not None]
    if select.get("multiple") is None:
        # A single select always sends one option: the last selected, or the first.
        chosen = chosen[-1:] or options[:1]
    return [(name, _option_value(option)) for option in chosen]


def _option_value(option):
    value = option.get("value")
    return value if value is not None else " ".join((option.text or "").split())
