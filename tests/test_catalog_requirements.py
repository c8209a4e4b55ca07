"""What a template's requirements.yml may hold (catalog.requirements), on its own."""

import pytest

from catalog.requirements import problems

FILES = {"template.yml", "vendor/extras/galaxy.yml", "vendor/role/tasks/main.yml", "notes.txt"}
BINARIES = {"vendor/tools-1.0.0.tar.gz", "vendor/role.tgz"}


def check(data) -> list[tuple[str, str]]:
    return problems(data, files=FILES, binaries=BINARIES)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"collections": []},
        {"collections": ["community.postgresql", "ansible.posix"]},
        {"collections": [{"name": "community.general", "version": ">=8.0.0,<9"}]},
        {"collections": [{"name": "community.general", "source": "https://galaxy.example"}]},
        {"collections": [{"name": "vendor/tools-1.0.0.tar.gz", "type": "file"}]},
        {"collections": [{"name": "./vendor/extras", "type": "dir"}]},
        {"roles": ["geerlingguy.docker", {"src": "geerlingguy.java", "version": "2.3.0"}]},
        {"roles": [{"name": "geerlingguy.java"}]},
        {
            "roles": [
                {"src": "vendor/role", "name": "mine"},
                {"src": "vendor/role.tgz", "name": "x"},
            ]
        },
    ],
)
def test_it_accepts_galaxy_names_and_what_the_folder_holds(data):
    assert check(data) == []


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ([1, 2], "", "must be a mapping"),
        ({"collections": [], "include": "x.yml"}, "include", "only collections and roles"),
        ({"collections": "community.general"}, "collections", "must be a list"),
        ({"collections": ["Not A Name"]}, "collections[0].name", "not a Galaxy collection name"),
        ({"collections": ["vendor/tools-1.0.0.tar.gz"]}, "collections[0].name", "type: file"),
        ({"collections": [{"name": "a.b", "url": "x"}]}, "collections[0].url", "not allowed"),
        ({"collections": [{"name": "a.b", "version": ["1"]}]}, "collections[0].version", "range"),
        (
            {"collections": [{"name": "https://h/c.tar.gz", "type": "url"}]},
            "collections[0].type",
            "'type: url' is not allowed",
        ),
        (
            {"collections": [{"name": "git+https://h/c.git", "type": "git"}]},
            "collections[0].type",
            "'type: git' is not allowed",
        ),
        (
            {"collections": [{"name": "/etc/ansible", "type": "dir"}]},
            "collections[0].name",
            "leaves the template's folder",
        ),
        (
            {"collections": [{"name": "../other/c.tar.gz", "type": "file"}]},
            "collections[0].name",
            "leaves the template's folder",
        ),
        (
            {"collections": [{"name": "file:///etc/c.tar.gz", "type": "file"}]},
            "collections[0].name",
            "leaves the template's folder",
        ),
        (
            {"collections": [{"name": "vendor/none.tar.gz", "type": "file"}]},
            "collections[0].name",
            "does not exist in the template's folder",
        ),
        (
            {"collections": [{"name": "notes.txt", "type": "file"}]},
            "collections[0].name",
            "is not a tarball",
        ),
        (
            {"collections": [{"name": "vendor/extras", "type": "file"}]},
            "collections[0].name",
            "is a folder: use type: dir",
        ),
        (
            {"collections": [{"name": "vendor/tools-1.0.0.tar.gz", "type": "dir"}]},
            "collections[0].name",
            "is a tarball: use type: file",
        ),
        (
            {"collections": [{"name": "vendor/extras", "type": "dir", "source": "x"}]},
            "collections[0].source",
            "not allowed with type: dir",
        ),
        ({"roles": [{"src": "a.b", "scm": "git"}]}, "roles[0].scm", "not allowed"),
        ({"roles": ["https://github.com/x/y.git"]}, "roles[0].src", "leaves the template's"),
        ({"roles": ["git+https://h/y,v1,name"]}, "roles[0].src", "leaves the template's"),
        ({"roles": [{"src": "/srv/roles/x"}]}, "roles[0].src", "leaves the template's"),
        ({"roles": [{"src": "vendor/nothing"}]}, "roles[0].src", "does not exist"),
        ({"roles": [{"src": "vendor/role"}]}, "roles[0].name", "is required for a role from"),
        ({"roles": [{"version": "1"}]}, "roles[0].src", "is required"),
        ({"roles": [{"src": "a.b", "name": "x/y"}]}, "roles[0].name", "must be a role name"),
        ({"roles": [7]}, "roles[0]", "must be a role's name or a mapping"),
    ],
)
def test_it_refuses_what_ansible_galaxy_would_fetch_from_elsewhere(data, field, words):
    found = check(data)

    assert [f for f, _ in found] == [field], found
    assert words in found[0][1]
