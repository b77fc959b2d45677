from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ropa.roles import (
    CONTRIBUTOR,
    ROLES,
    MissingPermissions,
    add_functions,
    assign_role,
    setup_roles,
)

FUNCTIONS_NEED_CONTRIBUTOR = "Give --function with --role contributor only."
NO_FUNCTION_YET = (
    "{user} is a member of no business function yet, so sees no activity: "
    "add one with --function NAME, or under Function memberships in the admin."
)


class Command(BaseCommand):
    help = (
        "Create or update the DPO, Auditor and Contributor groups with exactly "
        "their permissions; safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--assign",
            metavar="USERNAME",
            help="Also make this user a member of the role given by --role.",
        )
        parser.add_argument("--role", choices=sorted(ROLES))
        parser.add_argument(
            "--function",
            action="append",
            default=[],
            dest="functions",
            metavar="NAME",
            help="With --role contributor: a business function whose activities "
            "the user edits, as the activities name it. Repeat for several.",
        )

    @transaction.atomic
    def handle(self, *args, assign, role, functions, **options):
        # Atomic: a refused business function leaves roles and users as they were.
        if bool(assign) != bool(role):
            raise CommandError("Give --assign USERNAME and --role together.")
        if functions and role != "contributor":
            raise CommandError(FUNCTIONS_NEED_CONTRIBUTOR)
        user = None
        if assign:
            User = get_user_model()
            try:
                user = User.objects.get(**{User.USERNAME_FIELD: assign})
            except User.DoesNotExist:
                raise CommandError(f"There is no user '{assign}'.") from None
        try:
            changes = setup_roles()
        except MissingPermissions as error:
            raise CommandError(str(error)) from None
        for change in changes:
            self._report(change)
        if user is not None:
            group = ROLES[role]
            made_staff = assign_role(user, group)
            self.stdout.write(
                self.style.SUCCESS(f"{assign} now has the role {group}.")
                + (" (Made staff, to reach the admin.)" if made_staff else "")
            )
            if group == CONTRIBUTOR:
                self._add_functions(user, functions)

    def _add_functions(self, user, functions):
        try:
            added = add_functions(
                user=user, functions=functions, reason="Assigned by setup_roles"
            )
        except ValidationError as error:
            raise CommandError(
                f"Business function refused: {' '.join(error.messages)}"
            ) from None
        for name in added:
            self.stdout.write(f"  + business function {name}")
        if not user.function_memberships.exists():
            self.stdout.write(self.style.WARNING(NO_FUNCTION_YET.format(user=user)))

    def _report(self, change):
        if not change.changed:
            self.stdout.write(f"{change.group}: unchanged, {change.total} permissions.")
            return
        verb = "created" if change.created else "updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{change.group}: {verb}, {change.total} permissions "
                f"({len(change.added)} added, {len(change.removed)} removed)."
            )
        )
        for label in change.added:
            self.stdout.write(f"  + {label}")
        for label in change.removed:
            self.stdout.write(f"  - {label}")
