"""The public pages (the privacy notice generated from the register), and refusals."""

from django.contrib import admin
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token
from django.views.generic import TemplateView

from ropa import notice


class PrivacyNoticeView(TemplateView):
    """
    "Why do we process your personal data?", open to everyone.

    ``?controller=<slug>`` shows the notice of one company; an unknown slug, or
    a company without a published purpose, is a 404. Responses are marked
    ``no-cache`` so that a change saved in the admin shows on the next request.
    """

    template_name = notice.TEMPLATES[notice.HTML]

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        patch_cache_control(response, no_cache=True, max_age=0, must_revalidate=True)
        return response

    def get_controller(self):
        slug = self.request.GET.get("controller", "").strip()
        if not slug:
            return None
        return get_object_or_404(
            notice.notice_controllers().select_related("dpo"), slug=slug
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        built = notice.build_notice(controller=self.get_controller())
        context.update(notice.notice_context(built, notice_url=self.request.path))
        return context


REFUSED = (
    "Your account may not do this. Ask the data protection officer if you need to."
)


@requires_csrf_token
def permission_denied(request, exception=None):
    """
    A refused request, as a page that says why and leads back: in the
    admin's own look for the admin's pages, plain elsewhere.
    """
    reason = str(exception or "") or REFUSED
    context = {"title": "Not allowed", "reason": reason}
    template = "403.html"
    if request.path.startswith(reverse("admin:index")):
        template = "admin/403.html"
        # Refused before the user was known (a middleware): no role to name.
        user = getattr(request, "user", None)
        groups = user.groups.values_list("name", flat=True) if user and user.pk else ()
        context.update(admin.site.each_context(request), roles=", ".join(groups))
        context["back"] = _same_site_referrer(request) or reverse("admin:index")
    return render(request, template, context, status=403)


def _same_site_referrer(request):
    referrer = request.headers.get("referer", "")
    if referrer and url_has_allowed_host_and_scheme(
        referrer,
        allowed_hosts={request.get_host()},
        require_https=request.is_secure(),
    ):
        return referrer
    return ""
