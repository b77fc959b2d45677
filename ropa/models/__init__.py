"""The register's models, one module per subject."""

from ropa.models.activities import ProcessingActivity, ProcessingActivityQuerySet
from ropa.models.catalogue import Recipient, SecurityMeasure
from ropa.models.health import HealthMonth
from ropa.models.memberships import FunctionMembership
from ropa.models.parts import InternationalTransfer, LawfulBasis, RetentionRule
from ropa.models.reviews import Review, ReviewQuerySet
from ropa.models.stored import StoredCompleteness

__all__ = [
    "FunctionMembership",
    "HealthMonth",
    "InternationalTransfer",
    "LawfulBasis",
    "ProcessingActivity",
    "ProcessingActivityQuerySet",
    "Recipient",
    "RetentionRule",
    "Review",
    "ReviewQuerySet",
    "SecurityMeasure",
    "StoredCompleteness",
]
