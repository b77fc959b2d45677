from django import template

from ropa.dashboard import dashboard
from ropa.roles import contributor_functions

register = template.Library()


@register.simple_tag(takes_context=True)
def register_dashboard(context):
    """The dashboard's figures, for users who may see the register."""
    user = context["request"].user
    if not user.has_perm("ropa.view_processingactivity"):
        return None
    return dashboard(contributor_functions(user))
