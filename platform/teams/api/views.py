from core.api import RestrictedReadOnlyViewSet
from teams.api.serializers import TeamSerializer
from teams.models import Team


class TeamViewSet(RestrictedReadOnlyViewSet):
    """The caller's teams."""

    queryset = Team.objects.order_by("slug")
    serializer_class = TeamSerializer
    lookup_field = "slug"
