"""
The parties of the register, in the admin.

What a contributor may not do here (import, export, look through a record at
another function's activities) is added by ``ropa.admin.catalogue``: the
register's roles live above this app.
"""

from django.contrib import admin
from django.db.models import Count

from ropa.core.admin_base import RegisterAdmin, RegisterForm

from .models import (
    DataProtectionOfficer,
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)
from .resources import (
    DataProtectionOfficerResource,
    JointControllerArrangementResource,
    OrganisationResource,
    ProcessorAgreementResource,
)


@admin.register(DataProtectionOfficer)
class DataProtectionOfficerAdmin(RegisterAdmin):
    list_display = ("name", "email", "phone", "engagement")
    list_filter = ("engagement",)
    search_fields = ("name", "email")
    resource_classes = (DataProtectionOfficerResource,)


class OrganisationForm(RegisterForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The model lets an import leave it blank; a person saving the record
        # says where the organisation is established (Art. 3, Art. 27).
        if "country" in self.fields:
            self.fields["country"].required = True


@admin.register(Organisation)
class OrganisationAdmin(RegisterAdmin):
    list_display = (
        "name",
        "country",
        "is_group_company",
        "parent",
        "dpo",
        "representative",
    )
    list_filter = ("is_group_company", "country")
    search_fields = ("name", "registration_number", "email")
    list_select_related = ("parent", "dpo", "representative")
    autocomplete_fields = ("parent", "dpo", "representative")
    prepopulated_fields = {"slug": ("name",)}
    resource_classes = (OrganisationResource,)
    form = OrganisationForm
    fieldsets = (
        (None, {"fields": ("name", "slug", "registration_number", "country")}),
        ("Contact details", {"fields": ("address", "email", "phone", "website")}),
        (
            "Group and representation",
            {
                "description": "Art. 30(1)(a): the DPO and, for an organisation "
                "established outside the Union, its Art. 27 representative.",
                "fields": (
                    "is_group_company",
                    "parent",
                    "dpo",
                    "representative",
                    "art27_exempt",
                    "art27_exemption_reason",
                ),
            },
        ),
    )


class JointControllerArrangementForm(RegisterForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The model lets an import leave it blank; a person saving the
        # arrangement sets out who does what, as Art. 26(1) requires.
        if "responsibilities" in self.fields:
            self.fields["responsibilities"].required = True


@admin.register(JointControllerArrangement)
class JointControllerArrangementAdmin(RegisterAdmin):
    list_display = (
        "reference",
        "name",
        "joint_scope",
        "party_count",
        "signed_on",
        "review_on",
    )
    list_filter = ("joint_scope", "essence_published")
    search_fields = ("reference", "name", "scope")
    autocomplete_fields = ("parties",)
    resource_classes = (JointControllerArrangementResource,)
    form = JointControllerArrangementForm
    fieldsets = (
        (None, {"fields": ("reference", "name", "parties", "joint_scope", "scope")}),
        (
            "Art. 26 arrangement",
            {
                "description": "Art. 26(1) and (2): the respective responsibilities, "
                "and the essence of the arrangement made available to data subjects.",
                "fields": (
                    "responsibilities",
                    "contact_point",
                    "essence",
                    "essence_published",
                ),
            },
        ),
        ("Document", {"fields": ("document_reference", "signed_on", "review_on")}),
    )

    def get_queryset(self, request):
        # One count per row in the list, computed in the list's own query.
        return super().get_queryset(request).annotate(party_count=Count("parties"))

    @admin.display(description="parties", ordering="party_count")
    def party_count(self, obj):
        return obj.party_count


@admin.register(ProcessorAgreement)
class ProcessorAgreementAdmin(RegisterAdmin):
    list_display = ("reference", "processor", "controller", "signed_on", "expires_on")
    list_filter = ("expires_on",)
    search_fields = ("reference", "processor__name", "controller__name", "services")
    list_select_related = ("processor", "controller")
    autocomplete_fields = ("processor", "controller", "sub_processors")
    resource_classes = (ProcessorAgreementResource,)
    fieldsets = (
        (None, {"fields": ("reference", "processor", "controller", "services")}),
        (
            "Art. 28 contract",
            {
                "description": "Art. 28(2)-(4): the contract, its term and the "
                "sub-processors the controller authorised.",
                "fields": (
                    "document_reference",
                    "signed_on",
                    "expires_on",
                    "sub_processors",
                    "transfers_covered",
                ),
            },
        ),
    )
