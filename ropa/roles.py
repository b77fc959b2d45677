"""
The admin's two roles, as permission groups.

- ``DPO`` keeps the register: adds, changes, imports and exports every register
  model, and deletes catalogue and child rows (the database refuses to delete
  one the register still uses). Activities are retired, not deleted, and
  reviews are evidence of accountability: neither may be deleted.
- ``Auditor`` views everything, history included, and exports; nothing else.

History is never edited: both roles only view the historical models.
"""

from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import transaction

REGISTER_APPS = ("controllers", "subjects", "ropa")

DPO = "DPO"
AUDITOR = "Auditor"
#: The role names accepted on the command line, by group.
ROLES = {"dpo": DPO, "auditor": AUDITOR}

#: Register models whose rows are kept for good (by ``app_label.model_name``).
NEVER_DELETED = ("ropa.processingactivity", "ropa.review")
#: Outside the register, what the DPO needs: to pick owners and reviewers.
DPO_EXTRA = (("auth", "view_user"),)


class MissingPermissions(Exception):
    """Permissions a role needs do not exist yet (migrations not run)."""


@dataclass(frozen=True)
class RoleChange:
    """What ``setup_roles`` did to one group."""

    group: str
    created: bool
    added: tuple
    removed: tuple
    total: int

    @property
    def changed(self):
        return self.created or bool(self.added or self.removed)


def is_historical(model):
    """Whether ``model`` is a history table (simple-history names its source)."""
    return hasattr(model, "instance_type")


def register_models():
    """Every model of the register apps, history tables included."""
    return [
        model
        for app_label in REGISTER_APPS
        for model in apps.get_app_config(app_label).get_models()
    ]


def _codename(action, model):
    return (model._meta.app_label, f"{action}_{model._meta.model_name}")


def role_permissions(group):
    """The ``(app_label, codename)`` pairs that ``group`` holds, sorted."""
    if group == AUDITOR:
        wanted = [_codename("view", model) for model in register_models()]
    elif group == DPO:
        wanted = list(DPO_EXTRA)
        for model in register_models():
            if is_historical(model):
                wanted.append(_codename("view", model))
                continue
            actions = ["add", "change", "view"]
            if model._meta.label_lower not in NEVER_DELETED:
                actions.append("delete")
            wanted.extend(_codename(action, model) for action in actions)
    else:
        raise ValueError(f"Unknown role {group!r}: use {DPO!r} or {AUDITOR!r}.")
    return sorted(wanted)


def _label(permission):
    return f"{permission.content_type.app_label}.{permission.codename}"


def _permissions(pairs):
    app_labels = {app_label for app_label, _ in pairs}
    existing = {
        (permission.content_type.app_label, permission.codename): permission
        for permission in Permission.objects.filter(
            content_type__app_label__in=app_labels
        ).select_related("content_type")
    }
    missing = [
        f"{app}.{codename}"
        for app, codename in pairs
        if (app, codename) not in existing
    ]
    if missing:
        raise MissingPermissions(
            f"These permissions do not exist: {', '.join(missing)}. "
            "Run 'manage.py migrate' first."
        )
    return [existing[pair] for pair in pairs]


@transaction.atomic
def setup_roles():
    """
    Create or update the role groups so that each holds exactly its permissions.

    Safe to run again: a second run changes nothing, and a permission granted
    to a group by hand is taken away.
    """
    changes = []
    for name in (DPO, AUDITOR):
        wanted = _permissions(role_permissions(name))
        group, created = Group.objects.get_or_create(name=name)
        held = set(group.permissions.select_related("content_type"))
        added = sorted(_label(p) for p in wanted if p not in held)
        removed = sorted(_label(p) for p in held if p not in set(wanted))
        group.permissions.set(wanted)
        changes.append(
            RoleChange(
                group=name,
                created=created,
                added=tuple(added),
                removed=tuple(removed),
                total=len(wanted),
            )
        )
    return changes


@transaction.atomic
def assign_role(user, group):
    """
    Make ``user`` a member of ``group`` and of no other role, with admin access.

    Returns whether the user was made staff, which the admin requires.
    """
    role = Group.objects.get(name=group)
    user.groups.remove(
        *Group.objects.filter(name__in=ROLES.values()).exclude(pk=role.pk)
    )
    user.groups.add(role)
    if user.is_staff:
        return False
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return True
