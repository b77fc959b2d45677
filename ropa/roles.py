"""
The admin's three roles, as permission groups.

- ``DPO`` keeps the register: adds, changes, imports and exports every register
  model, and deletes catalogue and child rows (the database refuses to delete
  one the register still uses). Activities are retired, not deleted, and
  reviews are evidence of accountability: neither may be deleted.
- ``Auditor`` views everything, history included, and exports; nothing else.
- ``Contributor`` (a business owner) adds and changes the activities of their
  own business functions (``FunctionMembership``) with their lawful bases,
  transfers and retention rules, and views the catalogues they pick from and
  the reviews. They delete nothing, import and export nothing, and the admin
  shows them no other function's records (see ``contributor_functions``).

History is never edited: every role only views the historical models.
"""

from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from ropa.enums import ActivityStatus
from ropa.models import FunctionMembership

REGISTER_APPS = ("controllers", "subjects", "ropa")

DPO = "DPO"
AUDITOR = "Auditor"
CONTRIBUTOR = "Contributor"
#: The role names accepted on the command line, by group.
ROLES = {"dpo": DPO, "auditor": AUDITOR, "contributor": CONTRIBUTOR}

#: Register models whose rows are kept for good (by ``app_label.model_name``).
NEVER_DELETED = ("ropa.processingactivity", "ropa.review")
#: Outside the register, what the DPO needs: to pick owners and reviewers.
DPO_EXTRA = (("auth", "view_user"),)
#: What a contributor adds and changes, within their business functions.
CONTRIBUTOR_EDITS = (
    "ropa.processingactivity",
    "ropa.lawfulbasis",
    "ropa.internationaltransfer",
    "ropa.retentionrule",
)
#: The statuses a contributor gives an activity. Retiring takes it out of the
#: register in force and the privacy notice: the DPO decides that, and a
#: retired activity is no longer the contributor's to change.
CONTRIBUTOR_STATUSES = (ActivityStatus.DRAFT, ActivityStatus.ACTIVE)
#: What a contributor views: the catalogues their activities pick from, and
#: the reviews. Named one by one, so that a new model is not shown to them
#: by default.
CONTRIBUTOR_VIEWS = (
    "controllers.dataprotectionofficer",
    "controllers.organisation",
    "controllers.jointcontrollerarrangement",
    "controllers.processoragreement",
    "subjects.datasubjectcategory",
    "subjects.personaldatacategory",
    "ropa.securitymeasure",
    "ropa.recipient",
    "ropa.review",
)


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
    """
    Every model of the register apps, history tables included; not derived
    data that no one is given rights on (``default_permissions = ()``, e.g.
    the stored completeness).
    """
    return [
        model
        for app_label in REGISTER_APPS
        for model in apps.get_app_config(app_label).get_models()
        if model._meta.default_permissions
    ]


def _codename(action, model):
    return (model._meta.app_label, f"{action}_{model._meta.model_name}")


def _contributor_permissions():
    wanted = []
    for label in (*CONTRIBUTOR_EDITS, *CONTRIBUTOR_VIEWS):
        model = apps.get_model(label)
        actions = ("add", "change", "view") if label in CONTRIBUTOR_EDITS else ("view",)
        wanted.extend(_codename(action, model) for action in actions)
        wanted.append(_codename("view", model.history.model))
    return wanted


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
    elif group == CONTRIBUTOR:
        wanted = _contributor_permissions()
    else:
        known = ", ".join(repr(name) for name in ROLES.values())
        raise ValueError(f"Unknown role {group!r}: use one of {known}.")
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
    for name in ROLES.values():
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


def add_functions(*, user, functions, reason: str) -> list[str]:
    """
    Make ``user`` a member of each business function in ``functions``.

    Returns the functions that were new to them; memberships they already
    have are left as they are. Raises ``ValidationError`` for a bad name, and
    then adds none.
    """
    added = []
    with transaction.atomic():
        for name in dict.fromkeys(name.strip() for name in functions):
            if user.function_memberships.filter(business_function=name).exists():
                continue
            membership = FunctionMembership(user=user, business_function=name)
            membership.full_clean()
            membership._change_reason = reason
            membership.save()
            added.append(name)
    return added


_UNCACHED = object()


def contributor_functions(user):
    """
    The business functions to which the admin limits ``user``, or None.

    None for everyone whose view of the register is not limited by business
    function: all but the members of the Contributor group who are neither
    superusers nor DPOs. For a contributor, their functions, sorted; empty when
    they have none yet, and then they see and edit nothing.

    Read once per user object, as Django caches permissions: once per request.
    """
    cached = getattr(user, "_contributor_functions", _UNCACHED)
    if cached is not _UNCACHED:
        return cached
    functions = None
    if user.is_authenticated and not user.is_superuser:
        roles = set(
            user.groups.filter(name__in=(DPO, CONTRIBUTOR)).values_list(
                "name", flat=True
            )
        )
        if roles == {CONTRIBUTOR}:
            functions = tuple(
                user.function_memberships.order_by("business_function").values_list(
                    "business_function", flat=True
                )
            )
    user._contributor_functions = functions
    return functions


def is_contributor(user):
    """Whether the admin limits ``user`` to some business functions."""
    return contributor_functions(user) is not None


def may_change_activity(user, activity):
    """
    Whether ``user``'s role lets them change ``activity`` and its parts.

    Model permissions aside: a contributor changes the activities of their
    business functions that are not retired.
    """
    functions = contributor_functions(user)
    if functions is None:
        return True
    return (
        activity.business_function in functions
        and activity.status in CONTRIBUTOR_STATUSES
    )
