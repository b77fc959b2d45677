from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ropa.roles import ROLES, MissingPermissions, assign_role, setup_roles


class Command(BaseCommand):
    help = (
        "Create or update the DPO and Auditor groups with exactly their "
        "permissions; safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--assign",
            metavar="USERNAME",
            help="Also make this user a member of the role given by --role.",
        )
        parser.add_argument("--role", choices=sorted(ROLES))

    def handle(self, *args, assign, role, **options):
        if bool(assign) != bool(role):
            raise CommandError("Give --assign USERNAME and --role together.")
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
