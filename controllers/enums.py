from django.db import models


class DPOEngagement(models.TextChoices):
    INTERNAL = "internal", "Internal (staff member)"
    EXTERNAL = "external", "External (service contract, Art. 37(6))"


class JointScope(models.TextChoices):
    """When the parties to an Art. 26 arrangement are joint controllers."""

    ALWAYS = "always", "Always jointly responsible"
    WHEN_JOINT = "when_joint", "Jointly responsible where the parties act jointly"
