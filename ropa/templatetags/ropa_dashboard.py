"""The dashboard's health chart and flow pictures, for the admin index."""

from django import template

from ropa.dashboard import health_section
from ropa.dashboard_flows import pictures
from ropa.roles import contributor_functions

register = template.Library()


@register.simple_tag(takes_context=True)
def register_health(context, figures):
    """
    The health months and chart, given the dashboard's ``figures``
    (``register_dashboard``), which are the current month's, of what the
    user may see.
    """
    user = context["request"].user
    return health_section(user, figures, contributor_functions(user))


@register.simple_tag(takes_context=True)
def register_pictures(context):
    """The flow picture and the transfer map, filtered by the query string."""
    request = context["request"]
    return pictures(request.GET, contributor_functions(request.user))
