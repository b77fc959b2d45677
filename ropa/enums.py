from django.db import models


class ActivityRole(models.TextChoices):
    CONTROLLER = "controller", "Controller record (Art. 30(1))"
    PROCESSOR = "processor", "Processor record (Art. 30(2))"


class ActivityStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class Profiling(models.TextChoices):
    """What the activity does by way of profiling (Art. 4(4)) and Art. 22."""

    NONE = "none", "No profiling"
    PROFILING = "profiling", "Profiling, without automated decisions (Art. 4(4))"
    AUTOMATED_DECISIONS = (
        "automated_decisions",
        "Automated decisions with legal or similarly significant effects (Art. 22)",
    )


class DPIAStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class LawfulBasisChoice(models.TextChoices):
    CONSENT = "consent", "Consent (Art. 6(1)(a))"
    CONTRACT = "contract", "Contract (Art. 6(1)(b))"
    LEGAL_OBLIGATION = "legal_obligation", "Legal obligation (Art. 6(1)(c))"
    VITAL_INTERESTS = "vital_interests", "Vital interests (Art. 6(1)(d))"
    PUBLIC_TASK = "public_task", "Public task (Art. 6(1)(e))"
    LEGITIMATE_INTERESTS = "legitimate_interests", "Legitimate interests (Art. 6(1)(f))"


class SpecialCategoryCondition(models.TextChoices):
    """The conditions of Art. 9(2) for processing special category data."""

    EXPLICIT_CONSENT = "explicit_consent", "Explicit consent (Art. 9(2)(a))"
    EMPLOYMENT = "employment", "Employment and social security law (Art. 9(2)(b))"
    VITAL_INTERESTS = "vital_interests", "Vital interests (Art. 9(2)(c))"
    NOT_FOR_PROFIT = "not_for_profit", "Not-for-profit body (Art. 9(2)(d))"
    MADE_PUBLIC = "made_public", "Made public by the data subject (Art. 9(2)(e))"
    LEGAL_CLAIMS = "legal_claims", "Legal claims or courts (Art. 9(2)(f))"
    SUBSTANTIAL_PUBLIC_INTEREST = (
        "substantial_public_interest",
        "Substantial public interest (Art. 9(2)(g))",
    )
    HEALTH_CARE = "health_care", "Health or social care (Art. 9(2)(h))"
    PUBLIC_HEALTH = "public_health", "Public health (Art. 9(2)(i))"
    ARCHIVING_RESEARCH = (
        "archiving_research",
        "Archiving, research or statistics (Art. 9(2)(j))",
    )


class RecipientType(models.TextChoices):
    INTERNAL = "internal", "Internal (within the group)"
    EXTERNAL = "external", "External (independent controller)"
    PROCESSOR = "processor", "Processor (Art. 28)"


class TransferMechanism(models.TextChoices):
    """The Chapter V grounds for a transfer to a third country."""

    ADEQUACY = "adequacy", "Adequacy decision (Art. 45)"
    SCC = "scc", "Standard contractual clauses (Art. 46(2)(c))"
    BCR = "bcr", "Binding corporate rules (Art. 47)"
    PUBLIC_AUTHORITY_INSTRUMENT = (
        "public_authority_instrument",
        "Instrument between public authorities (Art. 46(2)(a))",
    )
    CODE_OF_CONDUCT = "code_of_conduct", "Approved code of conduct (Art. 46(2)(e))"
    CERTIFICATION = "certification", "Approved certification (Art. 46(2)(f))"
    AD_HOC_CLAUSES = (
        "ad_hoc_clauses",
        "Authorised contractual clauses (Art. 46(3)(a))",
    )
    DEROGATION = "derogation", "Derogation (Art. 49(1) first subparagraph)"
    COMPELLING_INTERESTS = (
        "compelling_interests",
        "Compelling legitimate interests (Art. 49(1) second subparagraph)",
    )


class RetentionUnit(models.TextChoices):
    DAYS = "days", "Days"
    MONTHS = "months", "Months"
    YEARS = "years", "Years"


class RetentionAction(models.TextChoices):
    ERASE = "erase", "Erase"
    ANONYMISE = "anonymise", "Anonymise"
    ARCHIVE = "archive", "Archive"
    REVIEW = "review", "Review"


class MeasureType(models.TextChoices):
    TECHNICAL = "technical", "Technical"
    ORGANISATIONAL = "organisational", "Organisational"


class MeasureArea(models.TextChoices):
    """The areas of the CNIL security checklist, with Art. 32(1) in mind."""

    ACCESS_CONTROL = "access_control", "Access control and authentication"
    TRACEABILITY = "traceability", "Traceability (logging)"
    SOFTWARE_PROTECTION = (
        "software_protection",
        "Software protection (updates, malware)",
    )
    BACKUPS = "backups", "Backups and continuity"
    ENCRYPTION = "encryption", "Encryption and pseudonymisation (Art. 32(1)(a))"
    PROCESSOR_CONTROL = "processor_control", "Processor control (Art. 28)"
    PHYSICAL = "physical", "Physical security"
    AWARENESS = "awareness", "Staff awareness and confidentiality"
    TESTING = "testing", "Regular testing and evaluation (Art. 32(1)(d))"
    OTHER = "other", "Other"


class ReviewOutcome(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed, no change"
    CHANGED = "changed", "Changed"
    RETIRED = "retired", "Retired"
