from rest_framework import pagination, serializers

MAX_PAGE_SIZE = 200


class PageNumberPagination(pagination.PageNumberPagination):
    """Pages of PAGE_SIZE rows, or of `page_size` (1 to MAX_PAGE_SIZE): anything else is a
    400 on `page_size`, rather than quietly the default."""

    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    page_size_query_description = f"Rows per page, 1 to {MAX_PAGE_SIZE} (50 when not given)."

    def get_page_size(self, request):
        asked = request.query_params.get(self.page_size_query_param)
        if asked is None:
            return self.page_size
        if not asked.isdigit() or not 1 <= int(asked) <= MAX_PAGE_SIZE:
            raise serializers.ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {MAX_PAGE_SIZE}."]}
            )
        return int(asked)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}
        return parameters
