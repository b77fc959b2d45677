from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import slugify
from django_countries.fields import CountryField

from ropa.core.constraints import choice_constraint
from ropa.core.dates import validate_past_date, validate_register_date
from ropa.core.history import history
from ropa.core.spreadsheet import validate_cell_length
from ropa.core.versioning import Versioned

from .enums import DPOEngagement, JointScope


class DataProtectionOfficer(Versioned):
    """A data protection officer (Art. 37-39), named in the record (Art. 30(1)(a))."""

    name = models.CharField(max_length=200)
    email = models.EmailField(
        help_text="Published contact for data subjects (Art. 37(7))."
    )
    phone = models.CharField(max_length=50, blank=True)
    engagement = models.CharField(
        max_length=20, choices=DPOEngagement.choices, default=DPOEngagement.INTERNAL
    )
    address = models.TextField(blank=True, validators=[validate_cell_length])

    history = history()

    class Meta:
        ordering = ("name",)
        verbose_name = "data protection officer"
        constraints = (
            choice_constraint(
                "engagement",
                DPOEngagement,
                name="controllers_dataprotectionofficer_engagement_valid",
            ),
            models.UniqueConstraint(
                fields=("name", "email"),
                name="controllers_dataprotectionofficer_name_email_unique",
            ),
        )

    def __str__(self):
        return f"{self.name} <{self.email}>"


SLUG_LENGTH = 200
#: The slug of a name that has no letter or digit slugify() keeps (an emoji,
#: most non-Latin scripts): slugs stay ASCII, for links, file names and
#: command-line arguments.
SLUG_FALLBACK = "organisation"
# Candidate slugs looked up per query when the first one is taken.
SLUG_CANDIDATES = 20


def _slug_base(name):
    return slugify(name)[:SLUG_LENGTH].strip("-") or SLUG_FALLBACK


def _numbered(base, number):
    suffix = f"-{number}"
    return base[: SLUG_LENGTH - len(suffix)].rstrip("-") + suffix


def unique_slugs(names, *, exclude=None):
    """
    A slug for each of ``names``, in order: slugify() of the name, else
    ``SLUG_FALLBACK``, with "-2", "-3"... when taken, by another organisation
    (all but the one of pk ``exclude``) or by an earlier name of ``names``.

    Every organisation's slug left empty is derived here: the admin's, the
    imports', the sample register's and the generated register's.
    """
    others = Organisation._base_manager.all()
    if exclude is not None:
        others = others.exclude(pk=exclude)
    bases = [_slug_base(name) for name in names]
    taken = set(others.filter(slug__in=bases).values_list("slug", flat=True))
    slugs = []
    for base in bases:
        slug = base if base not in taken else _free_numbered(base, others, taken)
        taken.add(slug)
        slugs.append(slug)
    return slugs


def _free_numbered(base, others, taken):
    start = 2
    while True:
        candidates = [
            _numbered(base, number) for number in range(start, start + SLUG_CANDIDATES)
        ]
        taken.update(others.filter(slug__in=candidates).values_list("slug", flat=True))
        for candidate in candidates:
            if candidate not in taken:
                return candidate
        start += SLUG_CANDIDATES


PARENT_CYCLE = (
    "An organisation cannot be its own parent company, directly or through "
    "others: {chain}."
)


class OrganisationQuerySet(models.QuerySet):
    def group_companies(self):
        return self.filter(is_group_company=True)


class Organisation(Versioned):
    """A legal entity: a controller, joint controller, processor or representative."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(
        max_length=SLUG_LENGTH,
        unique=True,
        blank=True,
        help_text="Used in links, e.g. the privacy notice of one company. "
        "Filled from the name when left empty.",
    )
    registration_number = models.CharField(max_length=100, blank=True)
    # Blank only for an organisation an import named without saying where it
    # is established (the admin's form asks for it): the record then shows
    # the Art. 27 gap until the country is known.
    country = CountryField(
        blank=True,
        help_text="Country of establishment. Outside the EEA, an Art. 27 "
        "representative is needed.",
    )
    address = models.TextField(blank=True, validators=[validate_cell_length])
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    website = models.URLField(blank=True)
    is_group_company = models.BooleanField(
        "group company",
        default=False,
        help_text="A company of the group whose register this is.",
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subsidiaries",
        help_text="The parent company within the group.",
    )
    dpo = models.ForeignKey(
        DataProtectionOfficer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        verbose_name="data protection officer",
        help_text="Art. 30(1)(a) and 30(2)(a): the DPO, where one is designated.",
    )
    representative = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="represented_organisations",
        verbose_name="Art. 27 representative",
        help_text="Art. 27: the representative in the Union of a controller or "
        "processor established outside it.",
    )
    art27_exempt = models.BooleanField(
        "Art. 27(2) exemption",
        default=False,
        help_text="Art. 27(2): no representative is needed for occasional "
        "processing that does not include large-scale special category or "
        "criminal data and is unlikely to result in a risk, or for a public "
        "authority or body.",
    )
    art27_exemption_reason = models.TextField(
        "reason for the Art. 27(2) exemption",
        blank=True,
        help_text="Why the exemption applies; required when it is claimed.",
        validators=[validate_cell_length],
    )

    objects = OrganisationQuerySet.as_manager()
    history = history()

    class Meta:
        ordering = ("name",)
        constraints = (
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("pk")),
                name="controllers_organisation_not_own_parent",
            ),
            models.CheckConstraint(
                condition=models.Q(art27_exempt=False)
                | ~models.Q(art27_exemption_reason=""),
                name="controllers_organisation_art27_reason_given",
                violation_error_message="Give the reason for the Art. 27(2) exemption.",
            ),
        )

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if self._fill_slug() and kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "slug"}
        super().save(*args, **kwargs)
        # Saved: the slug is the organisation's now, kept when it is renamed.
        self._derived_slug = None

    def clean(self):
        # Before the unique checks of full_clean() and of the admin's form,
        # so that they check the slug that will be saved.
        super().clean()
        self._fill_slug()
        self._refuse_parent_cycle()

    def _refuse_parent_cycle(self):
        """
        Refuse a parent that makes the group hierarchy loop: the organisation
        its own parent, or its parent's parent, and so on up the chain.
        """
        chain = [self]
        seen = {self.pk} if self.pk is not None else set()
        parent = self.parent
        while parent is not None:
            chain.append(parent)
            if parent.pk in seen:
                names = " → ".join(organisation.name for organisation in chain)
                error = ValidationError(
                    PARENT_CYCLE.format(chain=names), code="parent_cycle"
                )
                raise ValidationError({"parent": error})
            seen.add(parent.pk)
            if parent.parent_id is None:
                return
            # One query per level: a group is a few levels deep.
            parent = (
                Organisation._base_manager.filter(pk=parent.parent_id)
                .only("pk", "name", "parent_id")
                .first()
            )

    def _fill_slug(self):
        """Derive the slug from the name when it is empty; return whether it did."""
        if self.slug and self.slug != getattr(self, "_derived_slug", None):
            return False
        # Derived again until saved, since another organisation may take it
        # in between (an import checks all of its rows before saving any).
        (self.slug,) = unique_slugs([self.name], exclude=self.pk)
        self._derived_slug = self.slug
        return True

    @property
    def has_contact_details(self):
        return bool(self.email or self.phone)


REVIEW_BEFORE_SIGNED = "The next review cannot be before the arrangement was signed."
EXPIRES_BEFORE_SIGNED = "The agreement cannot expire before it was signed."


class JointControllerArrangement(Versioned):
    """The arrangement between joint controllers required by Art. 26."""

    reference = models.CharField(max_length=50, unique=True)
    name = models.CharField(max_length=200, unique=True)
    parties = models.ManyToManyField(
        Organisation,
        related_name="joint_arrangements",
        help_text="Art. 26(1): the joint controllers (at least two).",
    )
    joint_scope = models.CharField(
        "when joint",
        max_length=20,
        choices=JointScope.choices,
        default=JointScope.WHEN_JOINT,
        help_text="Whether the parties are always joint controllers for the "
        "purposes covered, or only where they carry out the processing together.",
    )
    scope = models.TextField(
        help_text="The processing the arrangement covers.",
        validators=[validate_cell_length],
    )
    # Blank only for an arrangement an import found in a spreadsheet, which
    # names the parties but not this: the record shows it as a gap.
    responsibilities = models.TextField(
        "allocation of responsibilities",
        blank=True,
        help_text="Art. 26(1): who complies with which obligation, in particular "
        "data subjects' rights and the information of Art. 13 and 14.",
        validators=[validate_cell_length],
    )
    contact_point = models.TextField(
        blank=True,
        help_text="Art. 26(1): the contact point for data subjects, if designated.",
        validators=[validate_cell_length],
    )
    essence = models.TextField(
        "essence for data subjects",
        blank=True,
        help_text="Art. 26(2): the essence of the arrangement made available to "
        "data subjects.",
        validators=[validate_cell_length],
    )
    essence_published = models.BooleanField(
        default=False,
        help_text="Art. 26(2): the essence is made available to data subjects.",
    )
    document_reference = models.CharField(max_length=255, blank=True)
    signed_on = models.DateField(null=True, blank=True, validators=[validate_past_date])
    review_on = models.DateField(
        "next review", null=True, blank=True, validators=[validate_register_date]
    )

    history = history(m2m_fields=("parties",))

    class Meta:
        ordering = ("reference",)
        verbose_name = "joint controller arrangement"
        constraints = (
            choice_constraint(
                "joint_scope",
                JointScope,
                name="controllers_jointcontrollerarrangement_joint_scope_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(review_on__isnull=True)
                | models.Q(signed_on__isnull=True)
                | models.Q(review_on__gte=models.F("signed_on")),
                name="controllers_jointcontrollerarrangement_review_after_signed",
                violation_error_message=REVIEW_BEFORE_SIGNED,
            ),
        )

    def __str__(self):
        return f"{self.reference} {self.name}"

    def clean(self):
        super().clean()
        _refuse_before_signed(self, "review_on", REVIEW_BEFORE_SIGNED)


class ProcessorAgreement(Versioned):
    """The contract with a processor required by Art. 28(3)."""

    reference = models.CharField(max_length=50, unique=True)
    processor = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="agreements_as_processor"
    )
    controller = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="agreements_as_controller",
        help_text="The controller on whose behalf the processor acts.",
    )
    services = models.TextField(
        help_text="The processing the processor carries out.",
        validators=[validate_cell_length],
    )
    document_reference = models.CharField(max_length=255, blank=True)
    signed_on = models.DateField(null=True, blank=True, validators=[validate_past_date])
    expires_on = models.DateField(
        null=True, blank=True, validators=[validate_register_date]
    )
    sub_processors = models.ManyToManyField(
        Organisation,
        blank=True,
        related_name="agreements_as_sub_processor",
        help_text="Art. 28(2) and (4): sub-processors authorised by the controller.",
    )
    transfers_covered = models.TextField(
        blank=True,
        help_text="Transfers to third countries the agreement covers, and under "
        "which Chapter V mechanism.",
        validators=[validate_cell_length],
    )

    history = history(m2m_fields=("sub_processors",))

    class Meta:
        ordering = ("reference",)
        verbose_name = "processor agreement"
        constraints = (
            models.CheckConstraint(
                condition=~models.Q(processor=models.F("controller")),
                name="controllers_processoragreement_distinct_parties",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_on__isnull=True)
                | models.Q(signed_on__isnull=True)
                | models.Q(expires_on__gte=models.F("signed_on")),
                name="controllers_processoragreement_expires_after_signed",
            ),
        )

    def __str__(self):
        return f"{self.reference} {self.processor} for {self.controller}"

    def clean(self):
        if self.processor_id and self.processor_id == self.controller_id:
            raise ValidationError(
                {"processor": "A processor cannot act on its own behalf."}
            )
        _refuse_before_signed(self, "expires_on", EXPIRES_BEFORE_SIGNED)


def _refuse_before_signed(agreement, name, message):
    """Refuse ``agreement``'s date ``name`` when it is before its signing date."""
    value, signed_on = getattr(agreement, name), agreement.signed_on
    if value is None or signed_on is None or not (_holds(value) and _holds(signed_on)):
        # A date the register cannot hold has its own error.
        return
    if value < signed_on:
        message = f"{message} It was signed on {signed_on.isoformat()}."
        raise ValidationError({name: ValidationError(message, code="before_signed")})


def _holds(value):
    """Whether ``value`` is a date the register can hold."""
    try:
        validate_register_date(value)
    except ValidationError:
        return False
    return True
