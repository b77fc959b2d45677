"""
Refuse to delete what the register still uses.

Foreign keys into the register are PROTECT; many-to-many links are not, so a
deleted category would silently vanish from every activity that names it. This
raises ``ProtectedError`` instead, the same error a PROTECT foreign key raises.
"""

from django.conf import settings
from django.db.models import ProtectedError
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from controllers.models import Organisation, ProcessorAgreement
from subjects.models import DataSubjectCategory, PersonalDataCategory

from .history import appears_in_history
from .models import ProcessingActivity, Recipient, SecurityMeasure

# The many-to-many fields of ProcessingActivity that point at each model.
ACTIVITY_LINKS = {
    Organisation: ("organisations", "client_controllers"),
    DataSubjectCategory: ("data_subject_categories",),
    PersonalDataCategory: ("personal_data_categories",),
    Recipient: ("recipients",),
    SecurityMeasure: ("security_measures",),
    ProcessorAgreement: ("processor_agreements",),
}


def activities_using(instance):
    """The activities that link to ``instance`` through a many-to-many field."""
    fields = ACTIVITY_LINKS[type(instance)]
    activities = ProcessingActivity.objects.none()
    for field in fields:
        activities |= ProcessingActivity.objects.filter(**{field: instance})
    return activities.distinct().order_by("reference")


def _refuse_when_used(sender, instance, **kwargs):
    using = list(activities_using(instance))
    if using:
        names = ", ".join(activity.reference for activity in using[:10])
        raise ProtectedError(
            f"Cannot delete {sender._meta.verbose_name} '{instance}': the "
            f"register uses it in {len(using)} processing activities ({names}). "
            "Remove it from them, or retire them, first.",
            set(using),
        )


for model in ACTIVITY_LINKS:
    receiver(pre_delete, sender=model, dispatch_uid=f"protect-{model._meta.label}")(
        _refuse_when_used
    )


@receiver(
    pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="protect-history-users"
)
def _refuse_user_in_history(sender, instance, **kwargs):
    # history_user is SET_NULL: deleting would erase who changed the register.
    if appears_in_history(instance):
        raise ProtectedError(
            f"Cannot delete user '{instance}': they appear in the register's "
            "history. Deactivate the account instead.",
            {instance},
        )
