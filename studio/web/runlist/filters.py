"""The filter panel of a runs list: what each filter offers, and the active filters
as chips, each with the link that removes it. Filtering itself is
``tracking.runlist.filters.RunFilterSet``; this module only presents it."""

from __future__ import annotations

from dataclasses import dataclass

from studio.accounts.models import Membership
from studio.execution.models import ComputeTarget
from studio.tracking.models import RunStatus, Workspace
from studio.tracking.runlist.filters import split_chip
from studio.tracking.runlist.state import ListState
from studio.web.runlist.links import ListLinks

LABELS = {
    "q": "search",
    "status": "status",
    "experiment": "experiment",
    "compute_target": "compute",
    "submitted_by": "submitted by",
    "tag": "tag",
    "prop": "property",
    "created_after": "created from",
    "created_before": "created to",
    "children": "",
    "parent": "children of",
}


@dataclass(frozen=True)
class Chip:
    label: str
    value: str
    remove_url: str
    key: str


def chips(state: ListState, links: ListLinks, *, hidden: tuple[str, ...] = ()) -> list[Chip]:
    """One removable chip per active filter value (the search expression included)."""
    found = []
    for key, values in state.filters.items():
        if key in hidden:
            continue
        for value in values:
            shown = "including child runs" if key == "children" else value
            if key in ("tag", "prop"):
                k, v = split_chip(value)
                shown = k if v is None else f"{k} = {v}"
            found.append(Chip(LABELS.get(key, key), shown, links.without_filter(key, value), key))
    return found


def panel_options(workspace: Workspace, *, experiment_names: list[str]) -> dict:
    """Choices the panel offers. Statuses and experiments are lists; compute targets
    and submitters are suggestions (any value may be typed), taken from small tables
    so the panel costs the same on 100 runs and on 100,000."""
    targets = [
        "local",
        *ComputeTarget.objects.filter(workspace=workspace).values_list("name", flat=True),
    ]
    people = Membership.objects.filter(workspace=workspace).values_list("user__username", flat=True)
    return {
        "statuses": RunStatus.values,
        "experiments": experiment_names,
        "targets": sorted(set(targets)),
        "people": sorted(people),
    }
