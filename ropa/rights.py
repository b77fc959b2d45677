"""
The data subject rights that an activity's lawful bases leave open.

Art. 13(2)(b) and 14(2)(c) ask a controller to tell data subjects which of the
rights of Art. 15-22 they have, and those depend on the Art. 6(1) basis of the
processing: portability only under consent or contract (Art. 20(1)(a)),
objection only under public task or legitimate interests (Art. 21(1)), no
erasure of what a legal obligation requires to be kept (Art. 17(3)(b)). An
activity records what it tells data subjects in ``rights_information``, which
the public notice prints.

The rule lives here, beside the register's other domain modules
(``completeness``, ``notice``), rather than in ``enums``: ``enums`` declares
the stored choices only, while this is GDPR reasoning over them, and anything
that fills in ``rights_information`` (the sample register, a form, an import)
can use it without depending on where its bases come from.
"""

from collections.abc import Iterable

from ropa.enums import LawfulBasisChoice

ACCESS = "access (Art. 15)"
RECTIFICATION = "rectification (Art. 16)"
ERASURE = "erasure (Art. 17)"
RESTRICTION = "restriction of processing (Art. 18)"
PORTABILITY = "data portability (Art. 20)"
OBJECTION = "objection (Art. 21)"
WITHDRAWAL = "withdrawal of consent at any time (Art. 7(3))"
COMPLAINT = "a complaint to a supervisory authority (Art. 77)"

PORTABLE_BASES = frozenset({LawfulBasisChoice.CONSENT, LawfulBasisChoice.CONTRACT})
OBJECTIONABLE_BASES = frozenset(
    {LawfulBasisChoice.LEGITIMATE_INTERESTS, LawfulBasisChoice.PUBLIC_TASK}
)


def rights_available(bases: Iterable[str]) -> tuple[str, ...]:
    """
    The rights a data subject has over processing on ``bases``, in article order.

    ``bases`` are ``LawfulBasisChoice`` values, one per Art. 6(1) basis of the
    activity. A right is open when one of the bases opens it: with consent
    and legitimate interests together, the data subject may both withdraw
    consent and object.
    """
    kinds = set(bases)
    rights = [ACCESS, RECTIFICATION]
    # Art. 17(3)(b): no erasure of data needed to comply with a legal
    # obligation; data held on any other basis can be erased.
    if kinds - {LawfulBasisChoice.LEGAL_OBLIGATION}:
        rights.append(ERASURE)
    rights.append(RESTRICTION)
    if kinds & PORTABLE_BASES:
        rights.append(PORTABILITY)
    if kinds & OBJECTIONABLE_BASES:
        rights.append(OBJECTION)
    if LawfulBasisChoice.CONSENT in kinds:
        rights.append(WITHDRAWAL)
    # Art. 13(2)(d): the right to complain holds whatever the basis.
    rights.append(COMPLAINT)
    return tuple(rights)


def rights_information(bases: Iterable[str]) -> str:
    """The rights open under ``bases`` as one sentence, for ``rights_information``."""
    *rights, last = rights_available(bases)
    return f"The right to {', '.join(rights)} and {last}."
