"""Service notes: a thread per service that its team and ops write together, in Markdown
rendered safely, on the service page, in its timeline and at /api/services/{id}/notes/."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from querycounts import budget

from audit.models import AuditEvent
from conftest import api_client_for
from core.markdown import render
from factories import make_service
from notes.models import MAX_BODY, ServiceNote
from notes.presentation import notes_and_timeline
from notes.services import add_note

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(catalog, teams, owner):
    return make_service(template=catalog["echo"], team=teams["alpha"], name="noted", user=owner)


def notes_url(service) -> str:
    return f"/api/services/{service.pk}/notes/"


# --- rendering ------------------------------------------------------------------------------


def test_it_drops_script_tags_and_their_content():
    html = render("before <script>alert(1)</script> after\n\n<script>document.cookie</script>")

    assert "<script" not in html.lower()
    assert "alert(1)" not in html and "document.cookie" not in html
    assert "before" in html and "after" in html


def test_it_drops_event_handler_attributes_and_unlisted_tags():
    html = render('<img src=x onerror=alert(1)> <svg onload=alert(2)></svg> <b onclick="x()">b</b>')

    assert "onerror" not in html and "onload" not in html and "onclick" not in html
    assert "<img" not in html and "<svg" not in html


def test_it_keeps_the_text_of_a_javascript_link_but_not_its_target():
    for link in ("[x](javascript:alert(1))", '<a href="JaVaScRiPt:alert(1)">x</a>',
                 "[x](data:text/html,hi)", "[x](/relative)"):  # fmt: skip
        html = render(link)
        assert "href" not in html, link
        assert ">x</a>" in html


def test_it_renders_markdown_formatting_with_safe_links():
    html = render(
        "### Incident\n\n**Database** was _down_ for `5 min`.\n\n"
        "- one\n- two\n\n> quoted\n\n```\nSELECT 1 < 2;\n```\n\n"
        '[postmortem](https://wiki.example.com/pm/42 "PM") or [mail](mailto:ops@example.com)\n\n'
        "| when | what |\n| --- | --- |\n| 10:00 | down |\n"
    )

    assert "<h3>Incident</h3>" in html
    assert "<strong>Database</strong>" in html and "<em>down</em>" in html
    assert "<code>5 min</code>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<blockquote>" in html
    assert "<pre><code>SELECT 1 &lt; 2;\n</code></pre>" in html
    assert (
        '<a href="https://wiki.example.com/pm/42" title="PM" rel="noopener noreferrer">'
        "postmortem</a>"
    ) in html
    assert '<a href="mailto:ops@example.com" rel="noopener noreferrer">mail</a>' in html
    assert "<td>10:00</td>" in html


# --- writing --------------------------------------------------------------------------------


def test_it_records_an_audit_event_with_the_note(service, member):
    note = add_note(user=member, service=service, body="Restarted the **primary**.")

    event = AuditEvent.objects.get(action="service.note")
    assert event.actor == "member" and event.team == "alpha"
    assert event.object_type == "provisioning.service" and event.object_id == str(service.pk)
    assert event.changes == {"note": [None, note.pk]}
    assert note.author == member and note.body == "Restarted the **primary**."


def test_it_refuses_an_empty_or_too_long_body_and_saves_nothing(service, member):
    from core.errors import InvalidRequest

    for body in ("", "   \n ", "x" * (MAX_BODY + 1)):
        with pytest.raises(InvalidRequest) as refused:
            add_note(user=member, service=service, body=body)
        assert list(refused.value.errors) == ["body"]
    assert ServiceNote.objects.count() == 0
    assert not AuditEvent.objects.filter(action="service.note").exists()


# --- the API --------------------------------------------------------------------------------


def test_it_adds_and_lists_notes_oldest_first_over_the_api(service, owner, ops):
    api = api_client_for(owner)

    first = api.post(notes_url(service), {"body": "Planned **maintenance**."}, format="json")
    second = api_client_for(ops).post(notes_url(service), {"body": "Done."}, format="json")

    assert first.status_code == 201, first.json()
    body = first.json()
    assert set(body) == {"id", "author", "body", "html", "created_at"}
    assert body["author"] == "owner" and body["body"] == "Planned **maintenance**."
    assert body["html"] == "<p>Planned <strong>maintenance</strong>.</p>"
    assert second.status_code == 201 and second.json()["author"] == "ops"
    listed = api.get(notes_url(service)).json()
    assert listed["count"] == 2
    assert [n["body"] for n in listed["results"]] == ["Planned **maintenance**.", "Done."]


def test_it_returns_the_sanitised_html_of_a_hostile_note(service, owner):
    api = api_client_for(owner)
    hostile = "<script>alert(1)</script><img src=x onerror=alert(1)>[x](javascript:alert(1))"

    created = api.post(notes_url(service), {"body": hostile}, format="json").json()

    assert created["body"] == hostile  # stored as written
    assert "<script" not in created["html"] and "onerror" not in created["html"]
    assert "javascript:" not in created["html"]


def test_it_answers_400_for_an_empty_body(service, owner):
    api = api_client_for(owner)

    for payload in ({}, {"body": ""}, {"body": "  "}):
        response = api.post(notes_url(service), payload, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["body"]
    assert ServiceNote.objects.count() == 0


def test_it_lets_an_auditor_read_notes_but_not_write_them(service, owner, auditor):
    add_note(user=owner, service=service, body="Seen by auditors.")
    api = api_client_for(auditor)

    assert api.get(notes_url(service)).json()["count"] == 1
    response = api.post(notes_url(service), {"body": "Mine."}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Auditors can see everything but change nothing."
    assert ServiceNote.objects.count() == 1


def test_it_hides_another_teams_notes_with_a_404(service, owner, outsider):
    add_note(user=owner, service=service, body="Alpha only.")
    api = api_client_for(outsider)

    assert api.get(notes_url(service)).status_code == 404
    assert api.post(notes_url(service), {"body": "Hi."}, format="json").status_code == 404
    assert ServiceNote.objects.count() == 1


def test_listing_notes_costs_a_constant_number_of_queries(service, owner):
    api = api_client_for(owner)

    def cost():
        with CaptureQueriesContext(connection) as queries:
            assert api.get(notes_url(service)).status_code == 200
        return len(queries)

    add_note(user=owner, service=service, body="one")
    few = cost()
    for n in range(20):
        add_note(user=owner, service=service, body=f"note {n}")
    assert cost() == few <= budget("/api/services/{pk}/notes/")


# --- the portal -----------------------------------------------------------------------------


def test_it_shows_the_thread_and_the_note_in_the_timeline(client, service, owner, ops):
    add_note(user=owner, service=service, body="First: *investigating*.")
    add_note(user=ops, service=service, body="<script>alert(1)</script>Fixed by ops.")
    client.force_login(owner)

    html = client.get(f"/services/{service.pk}/").content.decode()

    thread = html[html.index('id="notes"') : html.index('id="timeline"')]
    assert re.findall(r'class="fw-semibold note-author">(\w+)<', thread) == ["owner", "ops"]
    assert "<em>investigating</em>" in thread
    assert "<script>alert(1)" not in html and "Fixed by ops." in thread
    timeline = html[html.index('id="runs"') :]
    kinds = re.findall(r'<li class="timeline-item[^"]*" data-kind="([a-z]+)"', timeline)
    assert kinds == ["note", "note", "run"]  # newest first
    assert "<em>investigating</em>" in timeline


def test_it_posts_a_note_without_javascript_and_redirects_to_the_thread(client, service, member):
    client.force_login(member)

    response = client.post(f"/services/{service.pk}/notes/", {"body": "A **decision**."})

    assert response.status_code == 302
    assert response["Location"] == f"/services/{service.pk}/#notes"
    assert ServiceNote.objects.get().author == member


def test_it_shows_the_form_error_on_an_empty_note(client, service, member):
    client.force_login(member)

    page = client.post(f"/services/{service.pk}/notes/", {"body": " "})
    swapped = client.post(f"/services/{service.pk}/notes/", {"body": ""}, HTTP_HX_REQUEST="true")

    assert page.status_code == 400
    assert '<h1 class="h3 mb-0 me-1">noted</h1>' in page.content.decode()
    assert 'data-field-error="body">Write something first.' in page.content.decode()
    assert swapped.status_code == 400
    assert 'data-field-error="body">Write something first.' in swapped.content.decode()
    assert "<h1" not in swapped.content.decode()  # only the Notes section
    assert ServiceNote.objects.count() == 0


def test_it_answers_a_body_the_form_refuses_with_its_error_not_a_crash(
    client, service, member, auditor
):
    client.force_login(member)
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client.post(f"/services/{service.pk}/notes/", {"body": "a\x00b"}, **headers)
        assert response.status_code == 400
        error = 'data-field-error="body">Null characters are not allowed.'
        assert error in response.content.decode()
    client.force_login(auditor)  # who may write comes before what they wrote
    assert client.post(f"/services/{service.pk}/notes/", {"body": "a\x00b"}).status_code == 403
    assert ServiceNote.objects.count() == 0


def test_an_htmx_post_swaps_in_the_thread_and_the_timeline(client, service, member):
    client.force_login(member)

    response = client.post(
        f"/services/{service.pk}/notes/", {"body": "Rotated the `key`."}, HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="notes"')
    assert "Rotated the <code>key</code>." in html
    assert '<div id="timeline" hx-swap-oob="true">' in html and 'data-kind="note"' in html


def test_it_offers_the_note_form_only_to_those_who_may_write(client, service, auditor, member):
    client.force_login(auditor)
    assert 'id="note-form"' not in client.get(f"/services/{service.pk}/").content.decode()
    assert client.post(f"/services/{service.pk}/notes/", {"body": "x"}).status_code == 403
    client.force_login(member)
    assert 'id="note-form"' in client.get(f"/services/{service.pk}/").content.decode()


def notes_queries(queries) -> int:
    return sum('FROM "notes_servicenote"' in q["sql"] for q in queries.captured_queries)


def test_the_thread_and_the_timeline_share_one_read_of_the_notes(client, service, owner, ops):
    add_note(user=owner, service=service, body="First: *investigating*.")
    add_note(user=ops, service=service, body="Fixed.")
    client.force_login(owner)

    with CaptureQueriesContext(connection) as page:
        assert client.get(f"/services/{service.pk}/").status_code == 200
    with CaptureQueriesContext(connection) as swap:
        response = client.post(f"/services/{service.pk}/notes/", {"body": "Third."},
                               HTTP_HX_REQUEST="true")  # fmt: skip
    shown = notes_and_timeline(user=owner, service=service)

    assert response.status_code == 200
    assert (notes_queries(page), notes_queries(swap)) == (1, 1)
    in_timeline = [entry.item for entry in shown["timeline"] if entry.kind == "note"]
    # The very objects: each note's Markdown is rendered (and cached) once for both.
    assert [id(note) for note in shown["thread"]["notes"]] == [id(n) for n in in_timeline[::-1]]


def test_the_service_page_costs_the_same_queries_with_many_notes(client, service, owner):
    client.force_login(owner)

    def cost():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/services/{service.pk}/").status_code == 200
        return len(queries)

    add_note(user=owner, service=service, body="one")
    few = cost()
    for n in range(30):
        add_note(user=owner, service=service, body=f"note {n}")
    assert cost() == few <= budget("/services/{pk}/")
