"""Import and export of the categories of data subjects and data, from their lists."""

from ropa.core.resources import RegisterResource

from .models import DataSubjectCategory, PersonalDataCategory


class DataSubjectCategoryResource(RegisterResource):
    class Meta:
        model = DataSubjectCategory
        fields = ("name", "description", "vulnerable", "is_sample", "version")
        import_id_fields = ("name",)


class PersonalDataCategoryResource(RegisterResource):
    class Meta:
        model = PersonalDataCategory
        fields = (
            "name",
            "description",
            "examples",
            "sensitivity",
            "special_category",
            "cnil_group",
            "is_sample",
            "version",
        )
        import_id_fields = ("name",)
