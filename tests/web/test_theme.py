"""The theme a user chooses (light, dark, or the system's): remembered on their
account, rendered on <html> by the server (no flash of the other theme), at no
extra query per page; anonymous visitors follow their system."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from studio.accounts.models import Preference


def _html_tag(response) -> str:
    return response.content.decode().split("<html", 1)[1].split(">", 1)[0]


def test_anonymous_visitors_follow_the_system(client, db):
    assert "data-theme" not in _html_tag(client.get("/accounts/login/"))


def test_a_user_who_never_chose_follows_the_system(client, member):
    client.force_login(member)
    response = client.get("/accounts/profile/")
    assert "data-theme" not in _html_tag(response)
    body = response.content.decode()
    assert 'value="system" aria-pressed="true"' in body
    assert 'value="dark" aria-pressed="false"' in body


def test_the_chosen_theme_is_remembered_and_drawn_by_the_server(client, member):
    client.force_login(member)
    response = client.post(
        "/accounts/profile/theme/", {"theme": "dark"}, HTTP_REFERER="http://testserver/runs/?q=x"
    )
    assert response.status_code == 302 and response["Location"] == "http://testserver/runs/?q=x"
    assert Preference.objects.get(user=member).theme == "dark"
    assert 'data-theme="dark"' in _html_tag(client.get("/runs/"))
    client.post("/accounts/profile/theme/", {"theme": "light"})
    assert 'data-theme="light"' in _html_tag(client.get("/runs/"))
    client.post("/accounts/profile/theme/", {"theme": "system"})
    assert "data-theme" not in _html_tag(client.get("/runs/"))


def test_an_unknown_theme_is_refused_and_changes_nothing(client, member):
    client.force_login(member)
    client.post("/accounts/profile/theme/", {"theme": "dark"})
    response = client.post("/accounts/profile/theme/", {"theme": "neon"}, follow=True)
    assert "Unknown theme" in response.content.decode()
    assert Preference.objects.get(user=member).theme == "dark"


def test_it_goes_back_only_to_a_page_of_this_site(client, member):
    client.force_login(member)
    response = client.post(
        "/accounts/profile/theme/", {"theme": "dark"}, HTTP_REFERER="https://evil.example/"
    )
    assert response["Location"] == "/accounts/profile/"


def test_only_a_signed_in_user_sets_a_theme(client, db):
    response = client.post("/accounts/profile/theme/", {"theme": "dark"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Preference.objects.exists()


def test_the_theme_costs_no_query(client, member):
    client.force_login(member)
    client.get("/accounts/profile/")  # session, caches
    with CaptureQueriesContext(connection) as before:
        client.get("/accounts/profile/")
    client.post("/accounts/profile/theme/", {"theme": "dark"})
    with CaptureQueriesContext(connection) as after:
        response = client.get("/accounts/profile/")
    assert 'data-theme="dark"' in _html_tag(response)
    assert len(after.captured_queries) == len(before.captured_queries)
    # Loaded with the user (a join), never on its own.
    alone = [q["sql"] for q in after.captured_queries if 'FROM "accounts_preference"' in q["sql"]]
    assert alone == []
    assert any('JOIN "accounts_preference"' in q["sql"] for q in after.captured_queries)
