"""A contributor finds their function's activities and no other, in a real browser."""

import pytest
from django.urls import reverse

from ropa.roles import CONTRIBUTOR
from tests.e2e.conftest import at, log_in, member_of
from tests.factories import PASSWORD, ProcessingActivityFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

ACTIVITIES = "/admin/ropa/processingactivity/"


def change_url(activity):
    return reverse("admin:ropa_processingactivity_change", args=(activity.pk,))


def references(page):
    return page.locator("#result_list tbody th.field-reference").all_inner_texts()


def test_contributor_opens_their_functions_activity_and_never_finds_another(
    browser_page, roles
):
    page = browser_page
    own = ProcessingActivityFactory(reference="PA-0001", name="To manage orders")
    other = ProcessingActivityFactory(
        reference="PA-0002", name="To pay salaries", business_function="Payroll"
    )
    contributor = member_of(CONTRIBUTOR, functions=["Sales"])
    log_in(page, contributor.username, PASSWORD)

    page.locator("#content-main .app-ropa").get_by_role(
        "link", name="Processing activities", exact=True
    ).click()
    page.wait_for_url(at(ACTIVITIES))
    assert references(page) == ["PA-0001"]
    changelist = page.locator("#changelist").inner_text()
    for hidden in ("PA-0002", "To pay salaries", "Payroll"):
        assert hidden not in changelist
    # Neither the register's export nor the list's import and export ...
    tools = page.locator(".object-tools a").all_text_contents()
    assert [tool.strip() for tool in tools] == ["Add processing activity"]
    # ... nor a bulk delete or export of selected rows.
    actions = page.locator("select[name=action] option").evaluate_all(
        "options => options.map(option => option.value)"
    )
    assert not {"delete_selected", "export_admin_action"} & set(actions)

    page.fill("#searchbar", "salaries")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=salaries**")
    assert references(page) == []
    assert "To pay salaries" not in page.locator("#changelist").inner_text()

    page.fill("#searchbar", "PA-000")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=PA-000**")
    assert references(page) == ["PA-0001"]
    page.locator("#result_list").get_by_role("link", name="PA-0001").click()
    page.wait_for_url(at(change_url(own)))
    assert page.locator("#id_name").input_value() == "To manage orders"
    assert page.locator("input[name=_save]").count() == 1
    assert page.locator(".deletelink").count() == 0

    page.goto(change_url(other))
    page.wait_for_url(at(reverse("admin:index")))
    assert "doesn\u2019t exist" in page.locator(".messagelist").inner_text()
    assert "To pay salaries" not in page.content()
    history = page.request.get(
        reverse("admin:ropa_processingactivity_history", args=(other.pk,)),
        max_redirects=0,
    )
    assert history.status == 302
    assert history.headers["location"] == reverse("admin:index")
    for export in ("export_register", "export"):
        url = reverse(f"admin:ropa_processingactivity_{export}")
        assert page.request.get(url).status == 403
