"""The public pages: the privacy notice generated from the register."""

from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from django.views.generic import TemplateView

from . import notice


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
