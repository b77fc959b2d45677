"""
Reading the free text people write into the ICO template: a lawful basis, a
condition or a transfer mechanism named in words, yes / no at the start of a
sentence, a retention schedule, lists of names and the destinations of
transfers.
"""

import re

from ropa.core.cells import NO_WORDS, NOT_YES_OR_NO, YES_WORDS, CellError, country_code
from ropa.enums import (
    DPIAStatus,
    LawfulBasisChoice,
    Profiling,
    RetentionAction,
    RetentionUnit,
    SpecialCategoryCondition,
    TransferMechanism,
)
from ropa.exchange.reading import (
    read_whole_number,
)
from ropa.models import (
    ProcessingActivity,
)

NAME_LENGTH = ProcessingActivity._meta.get_field("name").max_length

# Cells that say there is nothing to say ("-" and the en and em dashes too).
EMPTY_WORDS = {
    *("", "n/a", "na", "n.a.", "none", "not applicable", "nil"),
    *("-", "\u2013", "\u2014"),
}

#: Yes and no at the start of a template's free text: the cells' words but
#: "1" and "0", which there begin a sentence ("1 DPIA done") more than answer.
ICO_YES_WORDS = YES_WORDS - {"1"}
ICO_NO_WORDS = NO_WORDS - {"0"}


def _article(number, paragraph, point):
    """A pattern for "Art. 6(1)(f)" written with or without spaces or brackets."""
    return rf"\b{number}\s*\(\s*{paragraph}\s*\)\s*\(?\s*{point}\b"


BASIS_PATTERNS = (
    (LawfulBasisChoice.CONSENT, (r"\bconsent", _article(6, 1, "a"))),
    (LawfulBasisChoice.CONTRACT, (r"\bcontract(s|ual)?\b", _article(6, 1, "b"))),
    (
        LawfulBasisChoice.LEGAL_OBLIGATION,
        (r"\blegal obligations?\b", _article(6, 1, "c")),
    ),
    (LawfulBasisChoice.VITAL_INTERESTS, (r"\bvital interests?\b", _article(6, 1, "d"))),
    (
        LawfulBasisChoice.PUBLIC_TASK,
        (r"\bpublic task\b", r"\bofficial authority\b", _article(6, 1, "e")),
    ),
    (
        LawfulBasisChoice.LEGITIMATE_INTERESTS,
        (r"\blegitimate interests?\b", _article(6, 1, "f")),
    ),
)
CONDITION_PATTERNS = (
    (
        SpecialCategoryCondition.EXPLICIT_CONSENT,
        (r"\bexplicit consent\b", _article(9, 2, "a")),
    ),
    (
        SpecialCategoryCondition.EMPLOYMENT,
        (r"\bemployment\b", r"\bsocial (security|protection)\b", _article(9, 2, "b")),
    ),
    (
        SpecialCategoryCondition.VITAL_INTERESTS,
        (r"\bvital interests?\b", _article(9, 2, "c")),
    ),
    (
        SpecialCategoryCondition.NOT_FOR_PROFIT,
        (r"\bnot[- ]for[- ]profit\b", _article(9, 2, "d")),
    ),
    (
        SpecialCategoryCondition.MADE_PUBLIC,
        (r"\bmade (manifestly )?public\b", _article(9, 2, "e")),
    ),
    (
        SpecialCategoryCondition.LEGAL_CLAIMS,
        (r"\blegal claims?\b", _article(9, 2, "f")),
    ),
    (
        SpecialCategoryCondition.SUBSTANTIAL_PUBLIC_INTEREST,
        (r"\bsubstantial public interest\b", _article(9, 2, "g")),
    ),
    (
        SpecialCategoryCondition.HEALTH_CARE,
        (
            r"\b(health or )?social care\b",
            r"\bmedical diagnosis\b",
            _article(9, 2, "h"),
        ),
    ),
    (
        SpecialCategoryCondition.PUBLIC_HEALTH,
        (r"\bpublic health\b", _article(9, 2, "i")),
    ),
    (
        SpecialCategoryCondition.ARCHIVING_RESEARCH,
        (r"\barchiving\b", r"\bresearch\b", r"\bstatistic", _article(9, 2, "j")),
    ),
)
MECHANISM_PATTERNS = (
    (TransferMechanism.ADEQUACY, (r"\badequa(cy|te)\b",)),
    (
        TransferMechanism.SCC,
        (
            r"\bstandard (contractual|data protection) clauses\b",
            r"\bsccs?\b",
            r"\bmodel clauses\b",
            r"\bidta\b",
            r"\binternational data transfer (agreement|addendum)\b",
        ),
    ),
    (TransferMechanism.BCR, (r"\bbinding corporate rules\b", r"\bbcrs?\b")),
    (
        TransferMechanism.PUBLIC_AUTHORITY_INSTRUMENT,
        (r"\binstrument between public authorities\b",),
    ),
    (TransferMechanism.CODE_OF_CONDUCT, (r"\bcode of conduct\b",)),
    (TransferMechanism.CERTIFICATION, (r"\bcertification\b",)),
    (
        TransferMechanism.AD_HOC_CLAUSES,
        (
            r"\bauthori[sz]ed contractual clauses\b",
            r"\bad[- ]hoc (contractual )?clauses\b",
        ),
    ),
    (
        TransferMechanism.COMPELLING_INTERESTS,
        (r"\bcompelling legitimate interests?\b",),
    ),
    (
        TransferMechanism.DEROGATION,
        (r"\bderogations?\b", r"\bart(icle|\.)?\s*49\b", r"\bexplicit consent\b"),
    ),
)
# The first that matches wins: "not started" before "started", "not
# completed" before "completed".
DPIA_PROGRESS_PATTERNS = (
    (DPIAStatus.NOT_STARTED, (r"\bnot (yet )?started\b", r"\bto do\b", r"\bplanned\b")),
    (
        DPIAStatus.IN_PROGRESS,
        (r"\bnot (yet )?complete", r"\bin progress\b", r"\bongoing\b", r"\bunderway\b"),
    ),
    (
        DPIAStatus.COMPLETED,
        (r"\bcomplete(d)?\b", r"\bdone\b", r"\bfinished\b", r"\bsigned off\b"),
    ),
    (DPIAStatus.IN_PROGRESS, (r"\bstarted\b", r"\bdraft\b")),
)
# A retention schedule: "[All data:] [kept for] N years|months|days [trigger]
# [, then erase|anonymise|archive|review]", or else the criteria.
_END_ACTION = r"(?:,?\s*then\s+(erase|anonymise|archive|review)\.?)?"
RETENTION_PERIOD = re.compile(
    r"(?:all data:\s*)?(?:(?:kept|retained|stored|held)\s+)?(?:for\s+)?"
    r"(\d+)\s*(year|month|day)s?\b[\s,.;:-]*(.*?)" + _END_ACTION,
    re.IGNORECASE | re.DOTALL,
)
RETENTION_CRITERIA = re.compile(
    r"(?:all data:\s*)?(.*?)" + _END_ACTION, re.IGNORECASE | re.DOTALL
)
UNITS = {
    "year": RetentionUnit.YEARS,
    "month": RetentionUnit.MONTHS,
    "day": RetentionUnit.DAYS,
}
BULLETS = "-*\u2022\u00b7\u2013\u2014"  # hyphen, star, bullet, dot, dashes


def fold(text):
    return re.sub(r"\s+", " ", text).strip().casefold()


def unqualified_header(text):
    """A header without its "(if applicable)"-style remarks or end punctuation."""
    return fold(re.sub(r"\([^)]*\)", " ", text)).rstrip("?:*. ")


# "No", "N/A - we are the only controller", "Not required": nothing to record.
NOT_APPLICABLE = re.compile(
    r"(?:(?:no|n/?a|none|nil|nobody|no one)(?:\s*$|\s*[-\u2013\u2014,.;:(])|"
    r"not (?:applicable|required|needed|appointed|designated|relevant)\b)",
    re.IGNORECASE,
)


def not_applicable(text):
    """Whether a party's cell says there is none ("No", "N/A", "Not required")."""
    text = meaningful(text)
    return not text or bool(NOT_APPLICABLE.match(text))


SAYS_YES = re.compile(r"(?:yes|y)(?:\s*$|\s*[-\u2013\u2014,.;:(])", re.IGNORECASE)


def says_yes(text):
    """Whether a cell answers "Yes" and names nothing ("Yes", "Yes - see file")."""
    return bool(SAYS_YES.match(text.strip()))


def meaningful(text):
    """A cell's text, "" for the words that say there is nothing."""
    text = text.strip()
    return "" if text.casefold().rstrip(".") in EMPTY_WORDS else text


# "We do not rely on consent", "no SCCs": a choice named to be ruled out.
NEGATION = re.compile(
    r"\b(?:not|no|never|without|nor|instead of|rather than)\b"
    r"(?:(?!\bbut\b)[^.;,():\-\u2013\u2014])*$",
    re.IGNORECASE,
)


def _named(expression, text):
    """Whether ``expression`` occurs in ``text`` other than ruled out."""
    return any(
        not NEGATION.search(text[max(0, match.start() - 40) : match.start()])
        for match in re.finditer(expression, text, re.IGNORECASE)
    )


def matching_choices(text, patterns):
    """
    The choices whose patterns occur in ``text`` (other than ruled out, "not
    consent"), in declaration order.
    """
    return [
        choice
        for choice, expressions in patterns
        if any(_named(expression, text) for expression in expressions)
    ]


def yes_or_no(text):
    """True, False or None (empty) for a yes / no cell; raises ValueError."""
    if not text:
        return None
    first = re.split(r"[\s,.;:!-]+", text.strip().casefold(), maxsplit=1)[0]
    if first in ICO_YES_WORDS:
        return True
    if first in ICO_NO_WORDS:
        return False
    raise ValueError(NOT_YES_OR_NO.format(text=text))


def read_profiling(text):
    """
    The profiling and its description from "Existence of automated
    decision-making": the label the export writes, yes / no, or words.
    """
    if not text:
        return {"profiling": Profiling.NONE, "profiling_description": ""}
    try:
        answer = yes_or_no(text)
    except ValueError:
        answer = None
    labelled = next(
        (
            choice
            for choice in Profiling
            if fold(text).startswith(fold(str(choice.label)))
        ),
        None,
    )
    if labelled is not None:
        # The template export writes the label, then the description.
        description = text.strip()[len(str(labelled.label)) :].strip()
        return {"profiling": labelled, "profiling_description": description}
    if answer is False:
        kind = Profiling.NONE
    elif re.search(r"\bautomated decision", text, re.IGNORECASE) and not re.search(
        r"\b(no|without) automated decision", text, re.IGNORECASE
    ):
        kind = Profiling.AUTOMATED_DECISIONS
    else:
        kind = Profiling.PROFILING
    # "No" alone says it all; anything more is kept as the description.
    description = "" if fold(text).rstrip(".") in ICO_NO_WORDS else text
    return {"profiling": kind, "profiling_description": description}


ALL_DATA = "all data"


def retention_schedule(text, category_names):
    """
    The rules a retention schedule holds, as (scope, values): scope "" for
    all of the activity's data, else the name of one of its categories
    (``category_names``). "All data: 3 years ..., then erase; Health data: 6
    months ..., then anonymise", as the export writes rules per category, is
    one rule per part; anything else one rule for all data.
    """
    parts = [part for part in re.split(r"[;\n]+", text) if meaningful(part)]
    known = {name.casefold(): name for name in category_names}
    scoped = []
    for part in parts:
        scope, colon, rest = part.partition(":")
        scope = fold(scope)
        if not colon or not rest.strip() or (scope != ALL_DATA and scope not in known):
            scoped = []
            break
        scoped.append(
            ("" if scope == ALL_DATA else known[scope], retention_values(rest))
        )
    if len(scoped) > 1:
        return scoped
    return [("", retention_values(text))]


def retention_values(text):
    """
    A retention rule's values from a retention schedule: a period and unit
    when it reads "N years|months|days ...", else the criteria.
    """
    criteria = RETENTION_CRITERIA.fullmatch(text.strip())
    values = {"criteria": criteria[1].strip()}
    if criteria[2]:
        values["end_action"] = criteria[2].casefold()
    match = RETENTION_PERIOD.fullmatch(text.strip())
    trigger = match[3].strip() if match else ""
    period = period_or_none(match[1]) if match else None
    if period is not None and 1 <= period <= 200 and len(trigger) <= 255:
        values = {
            "period": period,
            "period_unit": UNITS[match[2].casefold()],
            "trigger": trigger,
            "end_action": (match[4] or RetentionAction.ERASE).casefold(),
        }
    return values


# A DPIA's progress in the words the readers take it from, and nothing more.
BARE_PROGRESS = {
    *(str(label).casefold() for label in DPIAStatus.labels),
    *("not started", "not yet started", "in progress", "ongoing", "underway"),
    *("started", "draft", "planned", "to do", "complete", "completed", "done"),
    *("finished", "signed off"),
}
BARE_CONDITION = re.compile(
    r"(?:art(?:icle|\.)?\s*)?9\s*\(\s*2\s*\)\s*\(?\s*[a-j]\s*\)?", re.IGNORECASE
)


YES_NO, PROGRESS, CONDITION = "yes_no", "progress", "condition"


def said_more(text, kind):
    """
    The cell ``text`` when it says more than the import reads from it (a
    yes / no with a reason, a DPIA's progress or an Art. 9(2) condition with
    details), to keep on the activity; else "".
    """
    text = meaningful(text)
    if not text:
        return ""
    folded = fold(text).rstrip(" .")
    if kind == YES_NO:
        rest = re.split(r"[\s,.;:!-]+", folded, maxsplit=1)[1:]
        return text if rest and rest[0].strip(" -\u2013\u2014,.;:") else ""
    if kind == PROGRESS:
        return "" if folded in BARE_PROGRESS else text
    if kind == CONDITION:
        labels = {str(label).casefold() for label in SpecialCategoryCondition.labels}
        return "" if folded in labels or BARE_CONDITION.fullmatch(folded) else text
    return ""


def period_or_none(digits):
    """The number ``digits`` write, or None when too long to be any period."""
    try:
        return read_whole_number(digits, None)
    except CellError:
        return None


def split_names(text, known=lambda name: False):
    """
    The names in a list cell: separated by ";" or line breaks, and by ","
    in a cell without ";"; bullets removed, each once. A part ``known`` as a
    whole is one name, commas and all ("Korea, Republic of").
    """
    names = {}
    # Separated by ";" (as the export writes lists), names may hold commas
    # ("Health data, incl. sick notes"); otherwise commas separate too.
    commas = ";" not in text
    for part in re.split(r"[;\n]+", text):
        part = meaningful(part.strip().lstrip(BULLETS).strip())
        pieces = part.split(",") if commas and not known(part) else [part]
        for piece in pieces:
            name = meaningful(piece)
            if name:
                names.setdefault(name.casefold(), name)
    return list(names.values())


PROCESSOR_MARK = re.compile(
    r"^(.*?)\s*(?:[(\[]\s*(?:data\s+)?processor\s*[)\]]|[-\u2013:]\s*"
    r"(?:data\s+)?processor)\s*$",
    re.IGNORECASE | re.DOTALL,
)


def processor_marked(text):
    """
    A recipient's name, and whether it is marked as a processor: "Payroll
    Ltd (processor)", "Payroll Ltd - processor".
    """
    match = PROCESSOR_MARK.fullmatch(text.strip())
    if match and match[1]:
        return match[1].strip(), True
    return text, False


def destination(text):
    """
    A destination as (country code or "", mechanism text): "India" or "India
    (Standard contractual clauses)", as the template export writes it.
    """
    code = country_code(text)
    if code:
        return code, ""
    qualified = re.fullmatch(r"(.+?)\s*\((.*)\)", text, re.DOTALL)
    if qualified and country_code(qualified[1]):
        return country_code(qualified[1]), qualified[2].strip()
    return "", ""


def split_purpose(text):
    """
    The activity's name and purpose from "Purpose of processing".

    The name is the first line, cut to the name's length. When that line is a
    title followed by more text, the purpose is the text after it; otherwise
    the whole cell.
    """
    text = text.strip()
    if not text:
        return "", ""
    first, _, rest = text.partition("\n")
    first, rest = first.strip(), rest.strip()
    if rest and len(first) <= NAME_LENGTH:
        return first, rest
    return first[:NAME_LENGTH].strip(), text
