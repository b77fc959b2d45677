"""
The sample register: the Infobric group's privacy notice as a register.

``data`` declares the notice's 26 purposes and what the register adds to them;
``loader`` writes them into the register, with history. The names other code
uses are re-exported here, so callers need not know that split.
"""

from ropa.sample.loader import (
    CREATED,
    OUTCOMES,
    SAMPLE_REASON,
    UNCHANGED,
    UPDATED,
    LoadReport,
    SampleRegisterError,
    load_sample_register,
)

__all__ = [
    "CREATED",
    "OUTCOMES",
    "SAMPLE_REASON",
    "UNCHANGED",
    "UPDATED",
    "LoadReport",
    "SampleRegisterError",
    "load_sample_register",
]
