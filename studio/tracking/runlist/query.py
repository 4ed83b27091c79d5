"""A runs query (``studio.rules.runquery.RunQuery``) turned into runs: the
FilterSet's queryset, one keyset page, or every page in turn. The studio's table,
saved views, the JSON API, the SDK's local store and ``studio run list`` all read
their lists here; nothing else filters runs."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

from django.db.models import QuerySet
from django.utils.datastructures import MultiValueDict

from studio.errors import ValidationError
from studio.rules.runquery import FIRST_PAGE, RunQuery
from studio.tracking.models import Run, Workspace
from studio.tracking.runlist import pages
from studio.tracking.runlist.filters import RunFilterSet

# FilterSet parameter -> the name a caller of the API or the SDK knows it by.
_FIELD_NAMES = {"q": "filter", "tag": "tags", "prop": "properties"}
CHUNK = pages.MAX_PAGE_SIZE


def filterset(
    query: RunQuery, *, workspace: Workspace, base: QuerySet[Run] | None = None
) -> RunFilterSet:
    """The FilterSet of ``query``'s filters (bound, not yet checked)."""
    data = MultiValueDict(query.filter_params())
    return RunFilterSet(data, workspace=workspace, queryset=base)


def runs(
    query: RunQuery, *, workspace: Workspace, base: QuerySet[Run] | None = None
) -> QuerySet[Run]:
    """The runs of ``workspace`` (of ``base``, e.g. what a scoped token may see) that
    ``query`` selects, not yet sorted; or a ValidationError naming the first parameter
    that is not allowed (a filter expression's points at its position)."""
    query.validate()
    found = filterset(query, workspace=workspace, base=base)
    if not found.is_valid():
        name, errors = next(iter(found.form.errors.items()))
        raise ValidationError(errors[0], field=_FIELD_NAMES.get(name, name))
    return found.qs


def page(
    query: RunQuery,
    *,
    workspace: Workspace,
    after: str | None = None,
    size: int = FIRST_PAGE,
    with_total: bool = False,
    base: QuerySet[Run] | None = None,
    load: pages.Loader = pages.models,
) -> pages.Page:
    """One keyset page of ``query`` in its sort order: the first, or the one after
    ``after`` (a cursor a previous page handed out), its runs read by ``load``."""
    selected = runs(query, workspace=workspace, base=base)
    return pages.page(
        selected, query.sort_order, after=after, size=size, with_total=with_total, load=load
    )


def each(
    query: RunQuery,
    *,
    workspace: Workspace,
    first: int = FIRST_PAGE,
    chunk: int = CHUNK,
    limit: int | None = None,
    base: QuerySet[Run] | None = None,
    load: pages.Loader = pages.models,
) -> Iterator:
    """Every run ``query`` selects, in order (with ``limit``, its first ``limit``): a
    first page of ``first`` runs (what a caller usually reads; with a limit, that
    many; read now, so a bad query fails at the call), then pages of ``chunk`` as the
    caller goes on, so memory stays flat."""
    selected = runs(query, workspace=workspace, base=base)
    chunks = pages.iterate(
        selected, query.sort_order, chunk=chunk, first=first, limit=limit, load=load
    )
    head = next(chunks, [])
    return chain(head, chain.from_iterable(chunks))
