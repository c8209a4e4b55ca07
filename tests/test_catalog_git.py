"""Git sources: fetched with real git (file://, http with basic auth, ssh with a pinned host
key), each version pinned to its commit, history rewrites and bad credentials refused with
the last good versions kept, one source never overriding another's templates."""

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from gitrepos import HttpBackend, Repo, git

from catalog import sync
from catalog.models import CatalogSource, CatalogSync, Template, TemplateVersion
from catalog.services import sync_catalog
from credentials.services import create_credential
from testkit import TEMPLATE_PLAYBOOK, write_template

pytestmark = pytest.mark.django_db


def source_for(url: str, name: str = "templates", **fields) -> CatalogSource:
    return CatalogSource.objects.create(name=name, url=url, **fields)


def synced(source: CatalogSource, **options) -> CatalogSync:
    report = sync.sync_source(source=source, **options)
    assert report is not None
    return report


def test_it_loads_a_git_source_with_each_versions_commit_author_date_and_path(tmp_path):
    repo = Repo(tmp_path / "repo")
    repo.template("alpha", under="catalogue")
    sha = repo.commit("Add alpha", author="Grace Hopper <grace@example.org>")
    repo.push()
    source = source_for(repo.url, path="catalogue")

    report = synced(source)

    assert report.created == ["alpha"] and report.commit == sha and report.source == source
    version = Template.objects.get(slug="alpha").current_version
    assert (version.source, version.commit) == (source, sha)
    assert version.commit_author == "Grace Hopper <grace@example.org>"
    assert version.commit_date is not None and version.path == "catalogue/alpha"
    source.refresh_from_db()
    assert (source.commit, source.last_error) == (sha, "") and source.synced_at is not None
    assert source.sync_started_at is None  # the claim is released


def test_it_reads_a_tag_when_no_branch_has_the_name(tmp_path):
    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    sha = repo.commit("Add alpha")
    repo.push()
    git("tag", "-a", "v1", "-m", "release", cwd=repo.work)
    git("push", "--quiet", "origin", "v1", cwd=repo.work)

    report = synced(source_for(repo.url, branch="v1"))

    assert report.commit == sha and report.created == ["alpha"]


def test_a_bumped_version_is_a_new_version_of_its_new_commit(tmp_path):
    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    first = repo.commit("Add alpha")
    repo.push()
    source = source_for(repo.url)
    synced(source)
    repo.template("alpha", "1.1.0", description="Better.")
    second = repo.commit("Bump alpha")
    repo.push()

    report = synced(source)

    assert report.updated == ["alpha"]
    versions = dict(TemplateVersion.objects.values_list("version", "commit"))
    assert versions == {"1.0.0": first, "1.1.0": second}


def test_a_force_push_is_refused_and_the_last_good_versions_kept(tmp_path):
    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    good = repo.commit("Add alpha")
    repo.push()
    source = source_for(repo.url)
    synced(source)
    repo.template("alpha", "2.0.0")
    rewritten = repo.rewrite("Alpha, rewritten")
    repo.push(force=True)
    syncs = CatalogSync.objects.count()

    with pytest.raises(sync.SourceUnavailable) as refused:
        sync.sync_source(source=source)

    message = f"history was rewritten: {good} is not an ancestor of {rewritten}"
    assert message in str(refused.value)
    source.refresh_from_db()
    assert message in source.last_error and source.commit == good
    assert source.last_attempt_at is not None
    assert Template.objects.get(slug="alpha").current_version.version == "1.0.0"
    assert CatalogSync.objects.count() == syncs  # nothing else recorded

    synced(source, force=True)

    source.refresh_from_db()
    assert source.commit == rewritten and source.last_error == ""
    assert Template.objects.get(slug="alpha").current_version.version == "2.0.0"


def test_a_broken_template_does_not_keep_a_good_one_of_the_same_commit_from_loading(tmp_path):
    repo = Repo(tmp_path / "repo")
    repo.template("good")
    write_template(repo.work, "broken", raw="name: [unclosed")
    os.symlink("/etc/passwd", repo.template("linked") / "leak.yml")
    repo.commit("Good, broken and linked")
    repo.push()

    report = synced(source_for(repo.url))

    assert report.created == ["good"]
    problems = {(p["file"], p["message"]) for p in report.problems}
    assert any(f == "broken/template.yml" and "not valid YAML" in m for f, m in problems)
    assert ("linked/leak.yml", "is a symlink; symlinks are not allowed") in problems
    assert Template.objects.get(slug="good").is_requestable
    assert not Template.objects.get(slug="broken").is_requestable


def test_a_slug_another_source_offers_is_a_problem_and_leaves_that_template_alone(tmp_path):
    write_template(tmp_path / "folder", "alpha")
    sync_catalog(directory=tmp_path / "folder")  # offered by the local source
    offered = Template.objects.get(slug="alpha")
    repo = Repo(tmp_path / "repo")
    repo.template("alpha", "5.0.0", name="Hijacked")
    repo.template("beta")
    repo.commit("Alpha and beta")
    repo.push()

    report = synced(source_for(repo.url, name="intruder"))

    assert report.created == ["beta"]
    conflict = "template alpha is already offered by source local"
    assert {"file": "alpha", "field": "", "message": conflict} in report.problems
    alpha = Template.objects.get(slug="alpha")
    assert (alpha.source.name, alpha.name, alpha.errors) == ("local", offered.name, [])
    assert alpha.current_version == offered.current_version


def test_changed_files_without_a_new_version_are_refused_naming_the_commit(tmp_path):
    repo = Repo(tmp_path / "repo")
    folder = repo.template("alpha")
    repo.commit("Add alpha")
    repo.push()
    source = source_for(repo.url)
    synced(source)
    (folder / "p.yml").write_text(TEMPLATE_PLAYBOOK + "# changed\n")
    sha = repo.commit("Change alpha, forgetting the version")
    repo.push()

    report = synced(source)

    [problem] = report.problems
    assert problem["field"] == "version" and f"at commit {sha}" in problem["message"]
    assert Template.objects.get(slug="alpha").current_version.files["p.yml"] == TEMPLATE_PLAYBOOK


def test_only_this_sources_templates_are_retired(tmp_path):
    write_template(tmp_path / "folder", "local-one")
    sync_catalog(directory=tmp_path / "folder")
    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    repo.template("beta")
    repo.commit("Two")
    repo.push()
    source = source_for(repo.url)
    synced(source)
    repo.remove("beta")
    repo.commit("Drop beta")
    repo.push()

    report = synced(source)

    assert report.retired == ["beta"]
    assert Template.objects.get(slug="local-one").retired_at is None
    assert Template.objects.get(slug="alpha").retired_at is None


@pytest.mark.parametrize(
    ("url", "branch", "says"),
    [
        ("file:///nowhere/at/all.git", "main", "no git repository at this URL"),
        ("ext::sh -c touch% /tmp/gangplank-pwned", "main", "not allowed"),
        (None, "no-such-branch", "there is no branch or tag 'no-such-branch'"),
        (None, "--upload-pack=touch /tmp/x", "is not a branch or tag name"),
    ],
)
def test_a_source_that_cannot_be_read_says_why_and_keeps_its_versions(tmp_path, url, branch, says):
    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    repo.commit("Add alpha")
    repo.push()
    source = source_for(repo.url)
    synced(source)
    CatalogSource.objects.filter(pk=source.pk).update(url=url or repo.url, branch=branch)
    source.refresh_from_db()

    with pytest.raises(sync.SourceUnavailable, match=says):
        sync.sync_source(source=source)

    source.refresh_from_db()
    assert says in source.last_error
    assert Template.objects.get(slug="alpha").is_requestable
    assert not Path("/tmp/gangplank-pwned").exists()


def test_a_missing_path_in_the_repository_is_a_readable_error(tmp_path):
    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    sha = repo.commit("Add alpha")
    repo.push()

    with pytest.raises(sync.SourceUnavailable) as refused:
        sync.sync_source(source=source_for(repo.url, path="nope"))

    assert str(refused.value) == f"there is no folder 'nope' at commit {sha[:12]}"


def test_a_sync_while_another_of_the_same_source_runs_is_not_started(tmp_path):
    from django.utils import timezone

    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    repo.commit("Add alpha")
    repo.push()
    source = source_for(repo.url)
    CatalogSource.objects.filter(pk=source.pk).update(sync_started_at=timezone.now())

    assert sync.sync_source(source=source) is None
    assert not Template.objects.exists()

    stale = timezone.now() - sync.STALE_CLAIM * 2
    CatalogSource.objects.filter(pk=source.pk).update(sync_started_at=stale)
    assert sync.sync_source(source=source) is not None  # a dead sync's claim is taken over


@pytest.fixture
def http_server(tmp_path):
    server = HttpBackend(tmp_path, username="reader", password="s3cret-pass-word")
    yield server
    server.close()


def test_it_fetches_over_http_with_a_password_sent_as_basic_auth(tmp_path, http_server):
    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    sha = repo.commit("Add alpha")
    repo.push()
    credential = create_credential(
        user=None, name="forge", type="password",
        fields={"username": "reader", "password": "s3cret-pass-word"},
    )  # fmt: skip
    source = source_for(http_server.url(repo.bare), credential=credential)

    report = synced(source)

    assert report.commit == sha and report.created == ["alpha"]


def test_a_refused_credential_is_the_sources_error_without_the_secret(tmp_path, http_server):
    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    repo.commit("Add alpha")
    repo.push()
    credential = create_credential(
        user=None, name="forge", type="token", fields={"token": "wrong-token-123456"}
    )
    source = source_for(http_server.url(repo.bare), credential=credential)

    with pytest.raises(sync.SourceUnavailable, match="the server refused the credential"):
        sync.sync_source(source=source)

    source.refresh_from_db()
    assert http_server.refused >= 1
    assert "wrong-token-123456" not in source.last_error
    assert not Template.objects.exists()
    from audit.models import AuditEvent

    assert "wrong-token" not in str(list(AuditEvent.objects.values_list("changes", flat=True)))


def test_it_fetches_over_ssh_only_from_a_server_with_a_pinned_host_key(tmp_path, ssh_hosts):
    host = ssh_hosts.start("forge")
    repo = Repo(Path(host.directory) / "repos")  # where the host's sshd can read it
    repo.template("alpha")
    sha = repo.commit("Add alpha")
    repo.push()
    credential = create_credential(
        user=None, name="deploy-key", type="ssh",
        fields={"username": "root", "private_key": host.admin_private_key},
    )  # fmt: skip
    url = f"ssh://root@{host.address}:{host.port}{repo.bare}"
    other_key = subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True
    )
    wrong = " ".join((tmp_path / "k.pub").read_text().split()[:2])
    assert other_key.returncode == 0
    source = source_for(url, credential=credential, host_keys=wrong)

    with pytest.raises(sync.SourceUnavailable, match="host key does not match"):
        sync.sync_source(source=source)

    CatalogSource.objects.filter(pk=source.pk).update(host_keys=host.host_key)
    source.refresh_from_db()
    report = synced(source)
    assert report.commit == sha and report.created == ["alpha"]


def test_the_command_syncs_one_source_by_name_and_says_why_one_cannot_be_read(tmp_path, capsys):
    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    sha = repo.commit("Add alpha")
    repo.push()
    source_for(repo.url, name="team-repo")
    source_for("file:///nowhere.git", name="gone")

    call_command("sync_catalog", "--source", "team-repo")

    assert f"Catalogue source team-repo synced at {sha[:12]}" in capsys.readouterr().out
    with pytest.raises(CommandError, match=r"Cannot read source gone: .*no git repository"):
        call_command("sync_catalog", "--source", "gone")
    with pytest.raises(CommandError, match="there is no catalogue source 'nope'"):
        call_command("sync_catalog", "--source", "nope")


def test_syncing_every_source_makes_the_local_one_and_one_failure_stops_no_other(
    tmp_path, settings
):
    settings.CATALOG_DIR = tmp_path / "folder"
    write_template(settings.CATALOG_DIR, "local-one")
    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    repo.commit("Add alpha")
    repo.push()
    source_for("file:///nowhere.git", name="a-broken-one")
    source_for(repo.url, name="b-good-one")

    errors = sync.sync_all_sources()

    assert len(errors) == 1 and errors[0].startswith("a-broken-one: ")
    assert CatalogSource.objects.get(name="local").kind == "folder"
    assert set(Template.objects.values_list("slug", "source__name")) == {
        ("local-one", "local"),
        ("alpha", "b-good-one"),
    }


def test_a_crafted_tree_writing_through_a_symlink_is_refused_at_fetch_keeping_the_versions(
    tmp_path,
):
    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    good = repo.commit("Add alpha")
    repo.push()
    source = source_for(repo.url)
    synced(source)
    repo.push_crafted_tree()

    with pytest.raises(sync.SourceUnavailable, match="malformed object, refused"):
        sync.sync_source(source=source)

    source.refresh_from_db()
    assert "malformed object" in source.last_error and source.commit == good
    assert Template.objects.get(slug="alpha").is_requestable
    assert not Path("/etc/planted").exists()


def test_exporting_a_crafted_tree_is_a_git_error_never_a_write_outside(tmp_path):
    from catalog import git as gitops

    repo = Repo(tmp_path / "repo")
    crafted = repo.push_crafted_tree()  # read from the forge's own repository: no fetch's fsck
    (tmp_path / "into").mkdir()

    with pytest.raises(gitops.GitError, match=f"cannot write the tree of commit {crafted[:12]}"):
        gitops.export(cache=repo.bare, commit=crafted, path="", into=tmp_path / "into")

    assert not Path("/etc/planted").exists()


def test_a_token_or_password_is_never_sent_over_plain_http_but_to_this_machine(tmp_path):
    from catalog import git as gitops

    for url in ("http://git.example.org/r.git", "git://git.example.org/r.git"):
        with pytest.raises(gitops.GitError, match="sent only over https://"):
            gitops.fetch(cache=tmp_path / "c", remote=gitops.Remote(url=url, ref="main", token="t"))
    assert gitops.sends_in_clear("http://10.0.0.1/r.git")
    assert not any(
        gitops.sends_in_clear(url)
        for url in (
            "https://git.example.org/r.git",
            "http://127.0.0.1:8080/r.git",
            "http://127.1.2.3/r.git",
            "http://[::1]/r.git",
            "http://localhost/r.git",
        )
    )


def test_a_changed_branch_is_read_afresh_not_refused_as_a_rewrite(tmp_path):
    from catalog import sources

    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    repo.commit("Add alpha")
    repo.push()
    git("checkout", "--quiet", "--orphan", "other", cwd=repo.work)
    repo.template("alpha", "2.0.0")
    unrelated = repo.commit("Alpha on an unrelated branch")
    repo.push(ref="other")
    source = source_for(repo.url)
    synced(source)
    first = CatalogSource.objects.get(pk=source.pk).commit

    sources.update_source(user=None, source=source, branch="other")
    report = synced(source)

    assert report.commit == unrelated and report.updated == ["alpha"]
    source.refresh_from_db()
    assert (source.commit, source.last_error) == (unrelated, "")
    from audit.models import AuditEvent

    change = AuditEvent.objects.get(action="catalog.source_updated").changes
    assert change["branch"] == ["main", "other"] and change["commit"] == [first, None]


def test_a_template_loaded_before_sources_existed_is_not_taken_by_a_git_source(tmp_path):
    write_template(tmp_path / "folder", "alpha")
    sync_catalog(directory=tmp_path / "folder")
    Template.objects.update(source=None)  # as migration 0004 left the server's templates
    before = Template.objects.get(slug="alpha")
    repo = Repo(tmp_path / "repo")
    repo.template("alpha", "5.0.0", name="Hijacked")
    repo.commit("Alpha")
    repo.push()

    report = synced(source_for(repo.url, name="intruder"))

    conflict = "template alpha is already offered by source local"
    assert report.created == []
    assert {"file": "alpha", "field": "", "message": conflict} in report.problems
    alpha = Template.objects.get(slug="alpha")
    assert (alpha.source, alpha.name, alpha.current_version) == (
        None, before.name, before.current_version,
    )  # fmt: skip


def test_the_upgrade_gives_sourceless_templates_versions_and_syncs_to_the_local_source(
    tmp_path, settings
):
    import importlib

    from django.apps import apps

    settings.CATALOG_DIR = tmp_path / "folder"
    write_template(settings.CATALOG_DIR, "alpha")
    sync_catalog(directory=settings.CATALOG_DIR)
    CatalogSource.objects.all().delete()  # as before sources existed: every source NULL
    assert Template.objects.get(slug="alpha").source is None
    migration = importlib.import_module(
        "catalog.migrations.0006_local_source_for_sourceless_templates"
    )

    migration.adopt_sourceless_rows(apps, None)

    local = CatalogSource.objects.get(name="local")
    assert (local.kind, local.url) == ("folder", str(settings.CATALOG_DIR))
    assert not Template.objects.filter(source__isnull=True).exists()
    assert not TemplateVersion.objects.filter(source__isnull=True).exists()
    assert not CatalogSync.objects.filter(source__isnull=True).exists()
    assert Template.objects.get(slug="alpha").source == local


def test_a_sync_calls_its_progress_before_each_template(tmp_path):
    write_template(tmp_path / "folder", "alpha")
    write_template(tmp_path / "folder", "beta")
    loaded_at_each_call = []

    sync_catalog(
        directory=tmp_path / "folder",
        progress=lambda: loaded_at_each_call.append(Template.objects.count()),
    )

    assert loaded_at_each_call == [0, 1]


def test_a_long_sync_that_refreshes_its_claim_is_not_taken_over(tmp_path):
    from django.utils import timezone

    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    repo.commit("Add alpha")
    repo.push()
    source = source_for(repo.url)
    long_ago = timezone.now() - sync.STALE_CLAIM - timedelta(seconds=1)
    CatalogSource.objects.filter(pk=source.pk).update(sync_started_at=long_ago)
    claim = sync.Claim(source_id=source.pk, at=long_ago)  # a sync running for that long

    claim.refresh()

    assert sync.sync_source(source=source) is None  # not taken over
    assert CatalogSource.objects.get(pk=source.pk).sync_started_at == claim.at > long_ago
    CatalogSource.objects.filter(pk=source.pk).update(sync_started_at=timezone.now())
    with pytest.raises(sync.ClaimLost):
        claim.refresh()  # another took the source over: this one stops


@pytest.mark.django_db(transaction=True)
def test_a_sync_taken_over_while_it_fetches_stops_and_loads_nothing(tmp_path, http_server):
    import threading

    from django.db import connection
    from django.utils import timezone

    from testkit import wait_for

    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    repo.commit("Add alpha")
    repo.push()
    credential = create_credential(
        user=None, name="forge", type="password",
        fields={"username": "reader", "password": "s3cret-pass-word"},
    )  # fmt: skip
    source = source_for(http_server.url(repo.bare), credential=credential)
    http_server.gate.clear()  # the forge answers once the other sync took over
    outcome = {}

    def run() -> None:
        try:
            outcome["report"] = sync.sync_source(source=CatalogSource.objects.get(pk=source.pk))
        finally:
            connection.close()

    older = threading.Thread(target=run)
    older.start()
    wait_for(lambda: http_server.requests >= 1, what="the sync to start fetching")
    newer = timezone.now()
    CatalogSource.objects.filter(pk=source.pk).update(sync_started_at=newer)  # a take-over
    http_server.gate.set()
    older.join(timeout=120)

    assert not older.is_alive() and outcome["report"] is None
    assert not Template.objects.exists()
    source.refresh_from_db()
    assert (source.sync_started_at, source.commit) == (newer, "")  # the newer sync's claim


def test_a_sync_given_a_stale_source_reads_it_as_it_is_now(tmp_path):
    repo = Repo(tmp_path / "repo")
    repo.template("alpha")
    repo.commit("Add alpha")
    repo.push()
    repo.template("alpha", "2.0.0")
    newer = repo.commit("Alpha 2")
    repo.push(ref="next")
    source = source_for(repo.url)
    stale = CatalogSource.objects.get(pk=source.pk)  # as the command loaded it, say
    CatalogSource.objects.filter(pk=source.pk).update(branch="next")

    report = synced(stale)

    assert report.commit == newer
    assert Template.objects.get(slug="alpha").current_version.version == "2.0.0"
