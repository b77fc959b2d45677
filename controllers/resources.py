"""Import and export of the controllers' records, from their admin lists."""

import re

from import_export import fields

from ropa.core.resources import NamedForeignKeyWidget, RegisterResource

from .models import (
    DataProtectionOfficer,
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)

DPO_WRITTEN = "Write the data protection officer as 'Name <email>', not '{value}'."


class DataProtectionOfficerWidget(NamedForeignKeyWidget):
    """A DPO written as ``Name <email>``: two DPOs may share a name."""

    PATTERN = re.compile(r"^(?P<name>[^<>]*?)\s*<(?P<email>[^<>\s]+)>$")

    def __init__(self, **kwargs):
        super().__init__(DataProtectionOfficer, **kwargs)

    def get_lookup_kwargs(self, value, row, **kwargs):
        match = self.PATTERN.match(str(value))
        if match is None:
            raise ValueError(DPO_WRITTEN.format(value=value))
        return {"name": match["name"], "email": match["email"]}

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class DataProtectionOfficerResource(RegisterResource):
    class Meta:
        model = DataProtectionOfficer
        fields = ("name", "email", "phone", "engagement", "address", "version")
        import_id_fields = ("name", "email")


class OrganisationResource(RegisterResource):
    dpo = fields.Field(
        attribute="dpo", column_name="dpo", widget=DataProtectionOfficerWidget()
    )

    class Meta:
        model = Organisation
        fields = (
            "name",
            "slug",
            "registration_number",
            "country",
            "address",
            "email",
            "phone",
            "website",
            "is_group_company",
            "parent",
            "dpo",
            "representative",
            "version",
        )
        import_id_fields = ("name",)


class JointControllerArrangementResource(RegisterResource):
    class Meta:
        model = JointControllerArrangement
        fields = (
            "reference",
            "name",
            "parties",
            "joint_scope",
            "scope",
            "responsibilities",
            "contact_point",
            "essence",
            "essence_published",
            "document_reference",
            "signed_on",
            "review_on",
            "version",
        )
        import_id_fields = ("reference",)


class ProcessorAgreementResource(RegisterResource):
    class Meta:
        model = ProcessorAgreement
        fields = (
            "reference",
            "processor",
            "controller",
            "services",
            "document_reference",
            "signed_on",
            "expires_on",
            "sub_processors",
            "transfers_covered",
            "version",
        )
        import_id_fields = ("reference",)
