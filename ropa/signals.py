"""
Refuse to delete what the register still uses, before anything is deleted.

Foreign keys into the register are PROTECT. Many-to-many links are not: their
auto-created link tables CASCADE, so a deleted category would silently vanish
from every activity that names it.

``protect()`` (run from the app's ``ready()``) gives those link tables'
foreign keys an ``on_delete`` that refuses with ``ProtectedError`` naming the
records that use the row. Like PROTECT, it runs while Django collects what to
delete, before any SQL is sent, so a refusal leaves the caller's transaction
usable, and the admin lists the protecting records on its delete page as it
does for PROTECT. (Auto-created link tables are not in migrations, so this
changes no schema.)

``history_user`` is SET_NULL (simple-history fixes it so), and deleting a user
would erase who changed the register: a ``pre_delete`` receiver refuses that.
"""

from django.apps import apps
from django.conf import settings
from django.db.models import ManyToManyField, ProtectedError
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from ropa.core.history import appears_in_history

REGISTER_APPS = ("controllers", "subjects", "ropa")
# How many protecting records an error carries at most: enough to act on.
SHOWN = 20


def refuse_while_linked(collector, field, sub_objs, using):
    """``on_delete`` for the target side of a register link table."""
    through = field.model
    (source,) = (
        other
        for other in through._meta.fields
        if other.many_to_one and other is not field
    )
    owners = source.related_model._base_manager.using(using).filter(
        pk__in=sub_objs.values(source.attname)
    )
    raise ProtectedError(
        f"Used by {source.related_model._meta.verbose_name_plural}: remove it "
        "from them first.",
        set(owners.order_by("pk")[:SHOWN]),
    )


def register_links():
    """The target-side foreign keys of every register many-to-many link table."""
    for app_label in REGISTER_APPS:
        for model in apps.get_app_config(app_label).get_models():
            for field in model._meta.local_many_to_many:
                through = field.remote_field.through
                if isinstance(field, ManyToManyField) and through._meta.auto_created:
                    yield through._meta.get_field(field.m2m_reverse_field_name())


def protect():
    for link in register_links():
        link.remote_field.on_delete = refuse_while_linked


@receiver(
    pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="protect-history-users"
)
def refuse_user_in_history(sender, instance, **kwargs):
    if appears_in_history(instance):
        raise ProtectedError(
            f"Cannot delete user '{instance}': they appear in the register's "
            "history. Deactivate the account instead.",
            {instance},
        )
