from django import forms

from catalog.models import CatalogSource, SourceKind
from catalog.sources import CREDENTIAL_TYPES
from core.forms import BootstrapForm
from credentials.models import Credential
from teams.models import Team


class CatalogSourceForm(BootstrapForm):
    """A source's fields, parsed only: the rules are catalog.sources' (shared with the API),
    whose refusals land on the fields here."""

    name = forms.CharField(max_length=100, help_text="A slug: lowercase letters, digits, '-'.")
    url = forms.CharField(
        label="URL",
        max_length=500,
        help_text="https://, ssh://, user@host:path, git:// or file://; no password in it.",
    )
    branch = forms.CharField(max_length=200, initial="main", help_text="A branch or a tag.")
    path = forms.CharField(
        max_length=500,
        required=False,
        help_text="The folder inside the repository that holds the templates' folders.",
    )
    credential = forms.ModelChoiceField(
        queryset=Credential.objects.filter(type__in=CREDENTIAL_TYPES).order_by("name"),
        to_field_name="name",
        required=False,
        empty_label="None (a public repository)",
        help_text="An ssh key for ssh URLs, a token or password for https.",
    )
    host_keys = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="For ssh URLs: the server's public keys, one '<type> <base64>' a line.",
    )
    preview = forms.BooleanField(
        required=False,
        help_text="A channel: each sync's new versions are previews, seen and requested only "
        "by platform engineers and the teams below until promoted. Turning it off releases "
        "the pending previews to everyone at once.",
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        help_text="The teams that try a preview source's templates.",
    )
    secret = forms.CharField(
        label="Webhook secret",
        required=False,
        strip=False,
        # Never sent back, not even when the form comes back with errors.
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave blank to have one generated. Shown once, after saving.",
    )

    def __init__(self, *args, source: CatalogSource | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.source = source
        if source is None:
            return
        del self.fields["secret"]
        for name in ("name", "url", "branch", "path", "host_keys", "preview"):
            self.fields[name].initial = getattr(source, name)
        self.fields["credential"].initial = source.credential.name if source.credential else None
        self.fields["teams"].initial = [team.slug for team in source.teams.all()]
        if source.kind == SourceKind.FOLDER:
            # Only whether it is a preview, and for whom, changes (catalog.sources).
            for name in ("name", "url", "branch", "path", "credential", "host_keys"):
                self.fields[name].disabled, self.fields[name].required = True, False
            for name in ("branch", "credential", "host_keys"):
                self.fields[name].widget = forms.HiddenInput()
            self.fields["url"].label = "Folder"
            self.fields["url"].help_text = "The server's GANGPLANK_CATALOG_DIR."
            self.fields["path"].help_text = ""

    def payload(self) -> dict:
        """The keyword arguments of the services' create and update."""
        data = dict(self.cleaned_data)
        data["teams"] = list(data["teams"])
        if not data.get("secret"):
            data.pop("secret", None)
        return data
