"""
Import and export of the register's own records (activities, their lawful
bases, transfers, retention rules and reviews, recipients, security measures,
function memberships), each from its admin list. What every resource shares
is in ``ropa.core.resources``.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from import_export import fields, widgets

from ropa.core.resources import DateWidget, NamedForeignKeyWidget, RegisterResource
from ropa.exchange import layout
from ropa.models import (
    FunctionMembership,
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
    Review,
    SecurityMeasure,
)

COMPLETED_REVIEW_DUE_ON = "A completed review keeps the due date it was signed off on."


class SecurityMeasureResource(RegisterResource):
    class Meta:
        model = SecurityMeasure
        fields = ("name", "measure_type", "area", "description", "is_sample", "version")
        import_id_fields = ("name",)


class RecipientResource(RegisterResource):
    class Meta:
        model = Recipient
        fields = (
            "name",
            "recipient_type",
            "organisation",
            "country",
            "description",
            "version",
        )
        import_id_fields = ("name",)


class ProcessingActivityResource(RegisterResource):
    # Set by the database on save: exported, never imported.
    created_at = fields.Field(
        attribute="created_at",
        column_name="created_at",
        widget=widgets.DateTimeWidget(),
        readonly=True,
    )
    updated_at = fields.Field(
        attribute="updated_at",
        column_name="updated_at",
        widget=widgets.DateTimeWidget(),
        readonly=True,
    )

    class Meta:
        model = ProcessingActivity
        # The fields of the register file's Activities sheet, in its order.
        fields = layout.ACTIVITIES.model_fields
        import_id_fields = ("reference",)


class LawfulBasisResource(RegisterResource):
    class Meta:
        model = LawfulBasis
        fields = layout.LAWFUL_BASES.model_fields
        import_id_fields = ("activity", "basis")


class InternationalTransferResource(RegisterResource):
    class Meta:
        model = InternationalTransfer
        fields = layout.TRANSFERS.model_fields
        import_id_fields = (
            "activity",
            "country",
            "international_organisation",
            "recipient",
        )


class RetentionRuleResource(RegisterResource):
    class Meta:
        model = RetentionRule
        fields = layout.RETENTION_RULES.model_fields
        import_id_fields = ("activity", "personal_data_category")


class ReviewResource(RegisterResource):
    # Signed off through "Mark reviewed" only (see ReviewAdmin), which records
    # who signed: exported, never imported.
    completed_on = fields.Field(
        attribute="completed_on",
        column_name="completed_on",
        widget=DateWidget(),
        readonly=True,
    )
    reviewer = fields.Field(
        attribute="reviewer",
        column_name="reviewer",
        widget=NamedForeignKeyWidget(
            get_user_model(), field=get_user_model().USERNAME_FIELD
        ),
        readonly=True,
    )
    outcome = fields.Field(
        attribute="outcome",
        column_name="outcome",
        widget=widgets.CharWidget(),
        readonly=True,
    )

    class Meta:
        model = Review
        fields = (
            "activity",
            "cycle",
            "due_on",
            "completed_on",
            "reviewer",
            "outcome",
            "notes",
            "version",
        )
        import_id_fields = ("activity", "cycle")

    def import_instance(self, instance, row, **kwargs):
        signed_off_due_on = instance.due_on if instance.completed_on else None
        super().import_instance(instance, row, **kwargs)
        if signed_off_due_on is not None and instance.due_on != signed_off_due_on:
            raise ValidationError({"due_on": COMPLETED_REVIEW_DUE_ON})


class FunctionMembershipResource(RegisterResource):
    user = fields.Field(
        attribute="user",
        column_name="user",
        widget=NamedForeignKeyWidget(
            get_user_model(), field=get_user_model().USERNAME_FIELD
        ),
    )

    class Meta:
        model = FunctionMembership
        fields = ("user", "business_function", "version")
        import_id_fields = ("user", "business_function")
