"""The chart series endpoint (``/charts/series/``): min/max-reduced series of up to
200 runs x 10 metrics in one compact JSON response, per run or per group, for the
panel grid of ``static/studio/js/charts.js`` (the runs list, Compare)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods

from studio.accounts.access import access_run_set
from studio.accounts.routes import route
from studio.errors import ValidationError
from studio.tracking.runlist.state import parse_group
from studio.web import series

COMPACT = {"separators": (",", ":"), "allow_nan": False}


@route("read")
@require_http_methods(["GET", "POST"])
def chart_series(request: HttpRequest) -> JsonResponse:
    """GET, or POST with the same fields as a form (200 run ids outgrow a URL). Every
    run through one access query: one the user may not read makes it a 404. Bad
    input is a 400 naming the field, before any series is read."""
    params = request.POST if request.method == "POST" else request.GET
    try:
        query = series.SeriesQuery.from_params(params)
        group = parse_group(query.group) if query.group else None
    except ValidationError as exc:
        return _bad(exc)
    # Grouping reads the runs' properties, tags or experiment: loaded with them.
    runs = access_run_set(request.user, query.run_ids, related=group is not None)
    try:
        return JsonResponse(series.payload(runs, query, group), json_dumps_params=COMPACT)
    except ValidationError as exc:
        return _bad(exc)


def _bad(exc: ValidationError) -> JsonResponse:
    return JsonResponse({"error": exc.message, "field": exc.field}, status=400)
