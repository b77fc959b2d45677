"""
What changed inside a text, word by word, as HTML a preview can show.

``diff_html(before, after)`` marks the words ``before`` loses with ``<del>``
and the words ``after`` gains with ``<ins>``, and keeps a few unchanged words
either side of each change, so that a change in the middle of a long purpose
reads in its context without the whole text shown twice. Every word is
escaped: a cell of an uploaded file is never markup.
"""

import difflib
import re

from django.utils.html import escape
from django.utils.safestring import mark_safe

#: Unchanged words kept on each side of a change.
CONTEXT_WORDS = 8
#: Unchanged words between two changes that are shown as part of them.
FOLDED_WORDS = 1
#: What stands for the unchanged words left out.
ELIDED = "…"

# A word with the spaces that follow it; spaces before the first word stand
# alone.
_TOKEN = re.compile(r"\S+\s*|\s+")


def _tokens(text):
    # A spreadsheet stores line breaks as "\n", a browser posts "\r\n": the
    # same line break either way.
    return _TOKEN.findall(text.replace("\r\n", "\n").replace("\r", "\n"))


def _escaped(text):
    return escape(text).replace("\n", "<br>")


def _marked(tag, tokens):
    """``tokens`` inside ``tag``, with the spaces that end them outside it."""
    text = "".join(tokens)
    word = text.rstrip()
    if not word:
        # Only spaces or line breaks changed: shown, or the mark is empty.
        return f"<{tag}>{_escaped(text)}</{tag}>"
    return f"<{tag}>{_escaped(word)}</{tag}>{_escaped(text[len(word) :])}"


def _append_marked(parts, tag, tokens):
    # A mark never touches the word before it: the last word of a text has
    # no space after it, nor has a removal followed by an addition.
    if parts and not parts[-1].endswith((" ", "<br>")):
        parts.append(" ")
    parts.append(_marked(tag, tokens))


def _unchanged(tokens, *, first, last, context):
    """An unchanged run, cut to ``context`` words beside the changes it touches."""
    keep_head = 0 if first else context
    keep_tail = 0 if last else context
    if (first and last) or len(tokens) <= keep_head + keep_tail:
        return _escaped("".join(tokens))
    head = _escaped("".join(tokens[:keep_head]))
    tail = _escaped("".join(tokens[len(tokens) - keep_tail :]))
    if head and not head.endswith((" ", "<br>")):
        head += " "
    return f"{head}{ELIDED} {tail}" if tail else f"{head}{ELIDED}"


def _runs(old, new):
    """
    The diff of two token lists as (equal, old tokens, new tokens) runs, a
    single unchanged word between two changes folded into them: "the" kept
    between two rewritten phrases cuts them into pieces that read as noise.
    """
    # Words are compared without the spaces that follow them: the last word
    # of a text gains a space when a word is added after it.
    old_words = [token.rstrip() for token in old]
    new_words = [token.rstrip() for token in new]
    # The common start and end are unchanged as they stand: compared apart,
    # a repeated sentence cannot pair a changed word with its twin elsewhere,
    # and a long text compares only what lies between its changes.
    start = 0
    while start < min(len(old), len(new)) and old_words[start] == new_words[start]:
        start += 1
    end = 0
    while (
        end < min(len(old), len(new)) - start
        and old_words[-1 - end] == new_words[-1 - end]
    ):
        end += 1
    matcher = difflib.SequenceMatcher(
        None,
        old_words[start : len(old) - end],
        new_words[start : len(new) - end],
        autojunk=False,
    )
    runs = [(True, old[:start], new[:start])] if start else []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        i1, i2, j1, j2 = i1 + start, i2 + start, j1 + start, j2 + start
        runs.append((tag == "equal", old[i1:i2], new[j1:j2]))
        while (
            len(runs) >= 3
            and not runs[-1][0]
            and runs[-2][0]
            and len(runs[-2][2]) <= FOLDED_WORDS
            and not runs[-3][0]
        ):
            folded = runs[-3:]
            del runs[-3:]
            runs.append(
                (
                    False,
                    [token for _, old_run, _ in folded for token in old_run],
                    [token for _, _, new_run in folded for token in new_run],
                )
            )
    if end:
        runs.append((True, old[len(old) - end :], new[len(new) - end :]))
    return _merged(runs)


def _merged(runs):
    """``runs`` with neighbouring unchanged runs as one."""
    merged = []
    for run in runs:
        if merged and run[0] and merged[-1][0]:
            _, old, new = merged.pop()
            run = (True, [*old, *run[1]], [*new, *run[2]])
        merged.append(run)
    return merged


def diff_html(before, after, *, context=CONTEXT_WORDS):
    """
    ``before`` turned into ``after``, word by word, as safe HTML: removed
    words in ``<del>``, added words in ``<ins>``, and of the unchanged words
    only ``context`` either side of each change.
    """
    runs = _runs(_tokens(str(before or "")), _tokens(str(after or "")))
    parts = []
    for index, (equal, old, new) in enumerate(runs):
        if equal:
            parts.append(
                _unchanged(
                    new,
                    first=index == 0,
                    last=index == len(runs) - 1,
                    context=context,
                )
            )
            continue
        if old:
            _append_marked(parts, "del", old)
        if new:
            _append_marked(parts, "ins", new)
    return mark_safe("".join(parts))  # noqa: S308 (every text part is escaped)


# What diff-match-patch's ``diff_prettyHtml`` writes for each part of a diff.
_PRETTY_PART = re.compile(r"<(ins|del|span)[^>]*>(.*?)</\1>", re.DOTALL)


def _pretty_text(html):
    # The reverse of diff_prettyHtml's escaping, in the reverse order.
    return (
        html.replace("&para;<br>", "\n")
        .replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&")
    )


def texts_of_pretty_html(html):
    """
    The two texts a diff-match-patch ``diff_prettyHtml`` report compares,
    (before, after): the report of a value that did not change is that value.
    """
    before, after = [], []
    for tag, part in _PRETTY_PART.findall(str(html)):
        text = _pretty_text(part)
        if tag != "ins":
            before.append(text)
        if tag != "del":
            after.append(text)
    return "".join(before), "".join(after)
