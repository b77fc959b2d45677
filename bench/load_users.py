"""
The load test's users (bench/load.py): what each one requests, DPOs' writes
as a browser posts them, and how each answer is judged (its outcome, and
whether it is an error); the run's limits that stop them.
"""

import functools
import hmac
import re
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.client import HTTPException
from http.cookiejar import CookieJar

import lxml.html

# Beside the script: Python puts its folder first on the path.
from load_browser import fetch, find_form, opener, snippet

LOGIN_PATH = "/admin/login/"
HOME = "/admin/"
#: The most redirects a login follows.
MAX_REDIRECTS = 5
ACTIVITIES = "/admin/ropa/processingactivity/"
EXPORT_PATH = f"{ACTIVITIES}export-register/"
IMPORT_PATH = f"{ACTIVITIES}import-register/"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: An auditor downloads the full register once every EXPORT_EVERY rounds.
EXPORT_EVERY = 3

#: One round of a user's visits (rotated per user so that users differ).
ROUND = (
    "changelist",
    "change form",
    "filtered",
    "history",
    "search",
    "changelist",
    "dashboard",
    "change form",
    "notice",
)

# What a request came to. Anything but FINE is an error.
OK = "ok"
STALE_REFUSED = "stale form refused, as expected"
SAVED_FIRST = "refused: another user saved first"
STALE_SAVED = "stale form saved"
UNEXPECTED = "unexpected content"
NO_ANSWER = "no answer"
#: What a correct server answers: a race of two saves refuses the second.
FINE = frozenset({OK, STALE_REFUSED, SAVED_FIRST})

#: The admin's message when a form was read before another save (core.versioning).
STALE_MESSAGE = b"while you were editing it"
SAVED_MESSAGE = b"was changed successfully"
SIGNED_OFF_MESSAGE = b"Marked 1 review reviewed"
#: A DPO's small change: a line of their own under the security measures and
#: the first lawful basis's explanation, replacing the line an earlier save added.
NOTE = "Checked by {username} ({number})."
NOTE_LINE = re.compile(r"\s*Checked by load-\d+ \(\d+\)\.$")
NOTED_FIELDS = ("security_description", "lawful_bases-0-explanation")
#: A legitimate interest, where the record states none (see fill_gaps).
LEGITIMATE_INTERESTS = "legitimate_interests"
STATED_INTEREST = "Running the business efficiently."
#: Activities every DPO edits now and then, where their saves meet; each DPO
#: has a share of the others to itself.
SHARED_ACTIVITIES = 3
#: Every SHARED_EVERY-th round, the save a DPO opens it with is of a shared one.
SHARED_EVERY = 3
#: The forms the users fill in, by id.
CHANGE_FORM = "processingactivity_form"
CODE_FORM = "two-factor-form"
SIGN_OFF_FORM = "mark-reviewed-form"
IMPORT_FORM = "import-register-form"
CONFIRM_FORM = "import-confirm-form"


# -- a DPO's small change ------------------------------------------------------


def fill_gaps(form):
    """
    Fill in the gap the generated register leaves on purpose (one record in
    fifteen states no legitimate interest for its Art. 6(1)(f) basis), as
    the DPO does before the form saves. Any other refusal is a finding.
    """
    for name, value in list(form.fields):
        if name.startswith("lawful_bases-") and name.endswith("-basis"):
            interest = f"{name.removesuffix('-basis')}-legitimate_interest"
            if value == LEGITIMATE_INTERESTS and not form.get(interest, "").strip():
                form.set(interest, STATED_INTEREST)


def with_note(text, note):
    """``text`` with ``note`` as its last line, instead of an earlier save's note."""
    kept = NOTE_LINE.sub("", text).rstrip()
    return f"{kept}\r\n{note}" if kept else note


# -- what an answer comes to ---------------------------------------------------


@dataclass(frozen=True)
class Sample:
    kind: str
    path: str
    seconds: float
    status: int | None
    #: What the request came to: OK, one of the outcomes above, or "HTTP <status>".
    outcome: str = OK
    #: What was wrong, for the report's first errors.
    error: str = ""

    @property
    def is_error(self):
        return self.outcome not in FINE


@dataclass(frozen=True)
class Answer:
    status: int
    headers: object
    body: bytes
    outcome: str


def expect(*wanted, check=None):
    """The judge of a request answered by ``wanted``, whose ``check`` finds no fault."""

    def judge(status, headers, body):
        if status not in wanted:
            return f"HTTP {status}", f"expected {wanted[0]}: {snippet(body)}"
        problem = check(headers, body) if check else ""
        return (UNEXPECTED, problem) if problem else (OK, "")

    return judge


def judge_save(status, headers, body):
    """A save returns to the list; or, when someone saved first, says so (200)."""
    if status == 302:
        if urllib.parse.urlsplit(headers.get("Location", "")).path == ACTIVITIES:
            return OK, ""
        return UNEXPECTED, f"redirected to {headers.get('Location')}, not the list"
    if status == 200 and STALE_MESSAGE in body:
        return SAVED_FIRST, ""
    if status == 200:
        return UNEXPECTED, f"the form came back: {_error_note(body)}"
    return f"HTTP {status}", snippet(body)


def judge_stale_save(status, headers, body):
    """A form read before another save landed is refused with the message (200)."""
    if status == 200 and STALE_MESSAGE in body:
        return STALE_REFUSED, ""
    if status == 302:
        return STALE_SAVED, "saved over the save made after the form was read"
    if status == 200:
        return UNEXPECTED, f"no stale-form message: {_error_note(body)}"
    return f"HTTP {status}", snippet(body)


def _error_note(body):
    errors = lxml.html.document_fromstring(body).xpath(
        '//*[contains(@class, "errornote") or contains(@class, "errorlist")'
        ' or @class = "errors"]'
    )
    return snippet(b" ".join(lxml.html.tostring(error) for error in errors[:4]))


def having(marker, what):
    """A check that the page holds ``marker`` (bytes), described as ``what``."""

    def check(headers, body):
        if marker in body:
            return ""
        errors = _error_note(body)
        return f"no {what} on the page" + (f": {errors}" if errors else "")

    return check


def showing(message):
    """A check that the page shows ``message``, the one a redirect promised."""
    return having(message, f"'{message.decode()}' message")


def form_page(form_id):
    """The judge of a page that must show the form ``form_id``."""
    return expect(200, check=having(f'id="{form_id}"'.encode(), f"form '{form_id}'"))


def is_xlsx(headers, body):
    if headers.get_content_type() != XLSX_TYPE or not body.startswith(b"PK"):
        return f"not an XLSX download: {headers.get_content_type()}, {len(body)} bytes"
    return ""


# -- the users -----------------------------------------------------------------


class OutOfTime(Exception):
    """The run is over (its end, the request cap, or a stop): the user stops."""


@dataclass
class Budget:
    """The cap on timed requests, shared by the users."""

    left: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self):
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


@dataclass(frozen=True)
class Limits:
    """When a user's timed requests stop."""

    deadline: float
    budget: Budget
    stop: threading.Event

    def allow(self):
        return (
            not self.stop.is_set()
            and time.perf_counter() < self.deadline
            and self.budget.take()
        )


@dataclass(frozen=True)
class Desk:
    """A DPO's share of the register: what it saves and signs off."""

    own: list
    shared: list
    reviews: list


def desks(logins, register):
    """Each DPO's desk, by user number: shares of the register of their own."""
    dpos = [number for number, login in enumerate(logins) if login.role == "dpo"]
    imported = set(register.imported_ids)
    ids = [pk for pk in register.activity_ids if pk not in imported]
    ids = ids or register.activity_ids
    shared = ids[:SHARED_ACTIVITIES]
    rest = ids[SHARED_ACTIVITIES:]
    return {
        number: Desk(
            own=rest[index :: len(dpos)] or shared,
            shared=shared,
            reviews=register.reviewable_ids[index :: len(dpos)],
        )
        for index, number in enumerate(dpos)
    }


class User:
    """One admin user: a cookie jar of its own, a login, a loop over pages."""

    def __init__(self, number, login, *, base, register, timeout, desk=None):
        self.number = number
        self.login_details = login
        self.base = base
        self.register = register
        self.timeout = timeout
        self.desk = desk
        self.samples = []
        self.client = opener(CookieJar())
        self.logged_in = False
        self.limits = None
        #: Posts of a change form so far (each note says which it is).
        self.saves = 0
        #: Rounds of writes so far: which activities this round's are of.
        self.turn = 0
        self.reviews = iter(desk.reviews if desk else ())

    def take_samples(self):
        """The samples recorded so far, and a fresh list for the next ones."""
        samples, self.samples = self.samples, []
        return samples

    def request(self, kind, path, *, data=None, content_type=None, judge=None):
        """
        One request, recorded as a sample with its outcome; the answer, or
        None when there was none. Raises OutOfTime once the run is over.
        """
        if self.limits is not None and not self.limits.allow():
            raise OutOfTime
        judge = judge or expect(200)
        started = time.perf_counter()
        try:
            status, headers, body = fetch(
                self.client,
                self.base,
                path,
                timeout=self.timeout,
                data=data,
                content_type=content_type,
            )
        except (OSError, HTTPException) as error:
            seconds = time.perf_counter() - started
            self.samples.append(
                Sample(kind, path, seconds, None, NO_ANSWER, repr(error))
            )
            return None
        seconds = time.perf_counter() - started
        outcome, error = judge(status, headers, body)
        self.samples.append(Sample(kind, path, seconds, status, outcome, error))
        return Answer(status, headers, body, outcome)

    def submit(self, kind, path, form, *, judge, pressed=None, files=()):
        """Post ``form`` of the page at ``path`` as a browser does."""
        data, content_type = form.encoded(pressed=pressed, files=files)
        action = urllib.parse.urljoin(path, form.action) if form.action else path
        return self.request(
            kind, action, data=data, content_type=content_type, judge=judge
        )

    def follow(self, answer, kind, message):
        """The page a redirect leads to, as a browser opens it, with its message."""
        location = urllib.parse.urlsplit(answer.headers.get("Location", ""))
        path = location.path + (f"?{location.query}" if location.query else "")
        self.request(kind, path, judge=expect(200, check=showing(message)))

    def log_in(self):
        """
        Log in as a browser does, the one place that logs in: the admin's
        login page, its form with the username and password typed in, the
        redirects followed; where they lead to the two-factor code step, the
        code the user's authenticator app shows now, typed in. Logged in once
        on the admin's index.
        """
        page = self.request(
            "login form", f"{LOGIN_PATH}?next={HOME}", judge=form_page("login-form")
        )
        if page is None or page.outcome != OK:
            return
        form = find_form(page.body, form_id="login-form")
        form.set("username", self.login_details.username)
        form.set("password", self.login_details.password)
        # A wrong password shows the form again (200): only a redirect is a login.
        answer = self.submit("login", LOGIN_PATH, form, judge=expect(302))
        path, page = self.land(answer, LOGIN_PATH)
        key = self.register.authenticator_keys.get(self.login_details.username)
        if page is not None and f'id="{CODE_FORM}"'.encode() in page.body and key:
            form = find_form(page.body, form_id=CODE_FORM)
            form.set("code", totp(key))
            answer = self.submit("code", path, form, judge=expect(302))
            path, page = self.land(answer, path)
        self.logged_in = (
            page is not None
            and page.status == 200
            and urllib.parse.urlsplit(path).path == HOME
        )
        if page is not None and page.outcome == OK and not self.logged_in:
            self.samples.append(
                Sample("login", path, 0.0, page.status, UNEXPECTED, "not logged in")
            )

    def land(self, answer, path):
        """
        Follow ``answer``'s redirects as a browser does (a few at most):
        the path of the page landed on, and its answer (None if none).
        """
        for _ in range(MAX_REDIRECTS):
            if answer is None or answer.outcome != OK or answer.status != 302:
                break
            location = urllib.parse.urlsplit(answer.headers.get("Location", ""))
            path = location.path + (f"?{location.query}" if location.query else "")
            answer = self.request("login redirect", path, judge=expect(200, 302))
        return path, answer

    # -- what a DPO writes ---------------------------------------------------

    def open_change_form(self, activity):
        """The change page of ``activity`` and its form, or None."""
        page = self.request(
            "change form",
            f"{ACTIVITIES}{activity}/change/",
            judge=form_page(CHANGE_FORM),
        )
        if page is None or page.outcome != OK:
            return None
        return find_form(page.body, form_id=CHANGE_FORM)

    def post_change(self, activity, form, *, kind, judge):
        """Save ``form`` with a small change, as the DPO presses Save."""
        self.saves += 1
        note = NOTE.format(username=self.login_details.username, number=self.saves)
        for name in NOTED_FIELDS:
            text = form.get(name)
            if text is not None:
                form.set(name, with_note(text, note))
        fill_gaps(form)
        form.set("change_reason", f"Checked: {note}")
        path = f"{ACTIVITIES}{activity}/change/"
        return self.submit(kind, path, form, judge=judge, pressed=("_save", "Save"))

    def next_activity(self):
        """The activity of the next save: mostly the DPO's own, now and then shared."""
        desk, self.turn = self.desk, self.turn + 1
        if self.turn % SHARED_EVERY == 0:
            return desk.shared[(self.turn // SHARED_EVERY) % len(desk.shared)]
        return desk.own[self.turn % len(desk.own)]

    def save(self, activity=None):
        """Open an activity's page, change it a little, save; the save's answer."""
        activity = activity or self.next_activity()
        form = self.open_change_form(activity)
        if form is None:
            return None
        answer = self.post_change(activity, form, kind="save", judge=judge_save)
        if answer is not None and answer.outcome == OK:
            self.follow(answer, "changelist", SAVED_MESSAGE)
        return answer

    def stale_save(self):
        """
        Read a form, let another save land (the same DPO's, from a second tab),
        then save the first form: the admin must refuse it with its message.
        """
        # Another of the DPO's own activities than this round's save.
        own = self.desk.own
        activity = own[(self.turn + len(own) // 2) % len(own)]
        stale = self.open_change_form(activity)
        if stale is None:
            return
        landed = self.save(activity)
        # Refused because another user saved first, the form is stale all the same.
        if landed is not None and landed.outcome in (OK, SAVED_FIRST):
            self.post_change(activity, stale, kind="stale save", judge=judge_stale_save)

    def sign_off(self):
        """Mark the next open review of the DPO's share reviewed (confirmed)."""
        activity = next(self.reviews, None)
        if activity is None:
            return
        path = f"{ACTIVITIES}{activity}/mark-reviewed/"
        page = self.request("sign-off form", path, judge=form_page(SIGN_OFF_FORM))
        if page is None or page.outcome != OK:
            return
        form = find_form(page.body, form_id=SIGN_OFF_FORM)
        form.set("notes", "Checked with the business owner.")
        answer = self.submit("sign-off", path, form, judge=expect(302))
        if answer is not None and answer.outcome == OK:
            self.follow(answer, "change form", SIGNED_OFF_MESSAGE)

    def import_preview(self):
        """
        Upload the small register workbook, read the preview, cancel. Nobody
        saves the workbook's activities: its preview always offers to confirm.
        """
        page = self.request("import form", IMPORT_PATH, judge=form_page(IMPORT_FORM))
        if page is None or page.outcome != OK:
            return
        form = find_form(page.body, form_id=IMPORT_FORM)
        register = self.register
        preview = self.submit(
            "import preview",
            IMPORT_PATH,
            form,
            judge=form_page(CONFIRM_FORM),
            files=[("file", register.workbook_name, register.workbook, XLSX_TYPE)],
        )
        if preview is not None and preview.outcome == OK:
            confirm = find_form(preview.body, form_id=CONFIRM_FORM)
            self.submit(
                "import cancel",
                IMPORT_PATH,
                confirm,
                judge=expect(302),
                pressed=("cancel", "Cancel"),
            )

    # -- the loop ------------------------------------------------------------

    def actions(self):
        """The user's endless sequence of actions (callables)."""
        is_auditor = self.login_details.role == "auditor"
        shift = self.number % len(ROUND)
        kinds = ROUND[shift:] + ROUND[:shift]
        ids = self.register.activity_ids
        # Spread over the register, the same for every run.
        step = max(1, len(ids) // 97)
        position = self.number * step
        round_number = 0
        while True:
            if is_auditor and (round_number + self.number) % EXPORT_EVERY == 0:
                yield functools.partial(
                    self.request,
                    "export",
                    f"{EXPORT_PATH}?format=xlsx",
                    judge=expect(200, check=is_xlsx),
                )
            if not is_auditor:
                # A DPO's writes open the round: a short run has them all.
                yield from (self.save, self.stale_save, self.sign_off)
                yield self.import_preview
            for kind in kinds:
                activity = ids[position % len(ids)]
                if kind in ("change form", "history"):
                    position += step
                path = {
                    "changelist": ACTIVITIES,
                    "filtered": f"{ACTIVITIES}?completeness=incomplete",
                    "search": f"{ACTIVITIES}?q=orders",
                    "change form": f"{ACTIVITIES}{activity}/change/",
                    "history": f"{ACTIVITIES}{activity}/history/",
                    "dashboard": "/admin/",
                    "notice": "/privacy-notice/",
                }[kind]
                yield functools.partial(self.request, kind, path)
            round_number += 1

    def run(self, *, deadline, budget, stop):
        self.limits = Limits(deadline, budget, stop)
        try:
            for action in self.actions():
                action()
        except OutOfTime:
            return


def totp(key, *, now=None):
    """
    The code an authenticator app shows now for the hex ``key`` (RFC 6238:
    HMAC-SHA1, 30-second steps, 6 digits, django-otp's defaults).
    """
    step = int((time.time() if now is None else now) // 30)
    digest = hmac.new(bytes.fromhex(key), struct.pack(">Q", step), "sha1").digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"
