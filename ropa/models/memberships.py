"""Who contributes for which business function."""

from django.conf import settings
from django.db import models

from ropa.core.history import history
from ropa.core.versioning import Versioned


class FunctionMembership(Versioned):
    """
    A user who contributes the activities of one business function.

    A member of the Contributor group adds and changes the activities whose
    business function is one of their memberships, and sees no others.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="function_memberships",
    )
    business_function = models.CharField(
        max_length=100,
        help_text="Exactly as the activities name it, e.g. Sales.",
    )

    history = history()

    class Meta:
        ordering = ("business_function", "user")
        verbose_name = "function membership"
        constraints = (
            models.UniqueConstraint(
                fields=("user", "business_function"),
                name="ropa_functionmembership_unique_per_user",
                violation_error_message="The user is already a member of this "
                "business function.",
            ),
        )

    def __str__(self):
        return f"{self.user} in {self.business_function}"
