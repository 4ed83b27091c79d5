"""What a run description shows beyond its text: the embeds' references resolved with
the viewer's access (``studio.core.markdown.References``), its history's diffs, and
the one call that renders it for a page."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from studio.accounts.access import access_run
from studio.core.markdown import Card, Chart, render_markdown
from studio.errors import NotFound, ValidationError
from studio.rules import validation
from studio.tracking.models import Run, SavedView
from studio.tracking.runlist.state import parse_chart_options
from studio.web.series import legend_labels

MAX_CHART_RUNS = 20  # a chart in a description: the runs beyond these are not drawn
RUN_SETS = ("this", "parent", "children", "parent.children")


class RunReferences:
    """Embeds of ``run``'s description as ``user`` may see them: runs and views of the
    run's own workspace that the user can open; anything else stays text."""

    def __init__(self, user, run: Run):
        self.user = user
        self.run = run

    def _readable(self, run_id: str) -> Run | None:
        try:
            found = access_run(self.user, run_id, need="read")
        except (NotFound, ValidationError):
            return None
        return found if found.workspace_id == self.run.workspace_id else None

    def _run_set(self, word: str) -> list[Run]:
        if word == "this":
            return [self.run]
        if word in ("parent", "parent.children") and self.run.parent_id is None:
            raise ValidationError(f"runs={word}: this run has no parent.", field="runs")
        if word == "parent":
            return [self.run.parent]
        parent_pk = self.run.pk if word == "children" else self.run.parent_id
        if word in RUN_SETS:
            children = Run.objects.filter(parent_id=parent_pk).order_by("created_at", "pk")
            return list(children[:MAX_CHART_RUNS])
        found = self._readable(word)
        if found is None:
            raise ValidationError(
                f"runs: no run {word!r} in this workspace (or one you may not see); use "
                f"{', '.join(RUN_SETS)} or run ids.",
                field="runs",
            )
        return [found]

    def chart(self, params: dict[str, str]) -> Chart:
        metric = validation.key(params["metric"], "metric")
        words = [w.strip() for w in params.get("runs", "this").split(",") if w.strip()]
        if not words:
            raise ValidationError(
                "runs= names no run; use this, parent.children or run ids.", field="runs"
            )
        runs: dict[str, Run] = {}
        for word in words:
            for run in self._run_set(word):
                runs.setdefault(run.run_id, run)
        chosen = list(runs.values())[:MAX_CHART_RUNS]
        smooth = ""
        if raw := params.get("smoothing", ""):
            try:
                amount = float(raw)
            except ValueError:
                amount = -1.0
            if not 0 <= amount < 1:
                raise ValidationError(
                    f"smoothing={raw} is not a number from 0 to below 1.", field="smoothing"
                )
            if amount:
                smooth = parse_chart_options({"smooth": f"ema:{round(amount, 3)}"})["smooth"]
        log = params.get("log", "0")
        if log not in ("0", "1", "true", "false"):
            raise ValidationError("log= is 1 or 0.", field="log")
        labels = legend_labels([r.label for r in chosen], [r.run_id for r in chosen])
        return Chart(
            metric,
            [
                (r.run_id, label, reverse("run-detail", args=[r.run_id]))
                for r, label in zip(chosen, labels, strict=True)
            ],
            smooth,
            log in ("1", "true"),
        )

    def run_card(self, run_id: str) -> Card | None:
        found = self._readable(run_id)
        if found is None:
            return None
        return Card(reverse("run-detail", args=[found.run_id]), found.label, found.status.lower())

    def view_card(self, view_id: int) -> Card | None:
        view = (
            SavedView.objects.visible_to(self.user)
            .filter(pk=view_id, workspace_id=self.run.workspace_id)
            .first()
        )
        if view is None:
            return None
        return Card(reverse("view-detail", args=[view.pk]), view.name)


def description_html(user, run: Run, text: str | None = None) -> SafeString:
    """``text`` (default: the run's description) rendered for ``user`` on the run's page."""
    text = run.description if text is None else text
    return render_markdown(text, run_id=run.run_id, refs=RunReferences(user, run))


EXCERPT_CHARS = 200  # of a description, read for a chart legend's tooltip


def legend_excerpt(text: str, lines: int = 2) -> str:
    """The first non-empty lines of a description, as plain text (heading and list
    marks dropped), for the title of a run's entry in a chart legend."""
    kept = []
    for line in text.splitlines():
        line = line.strip().lstrip("#>*-+ ").strip()
        if line:
            kept.append(line)
        if len(kept) == lines:
            break
    joined = "\n".join(kept)
    return joined if len(joined) <= EXCERPT_CHARS else joined[: EXCERPT_CHARS - 1] + "…"


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "same" or "hunk"
    text: str


def diff_lines(old: str, new: str) -> list[DiffLine]:
    """A unified diff of two texts, line by line, for a template to show (escaped)."""
    out = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            out.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            out.append(DiffLine("add", line[1:]))
        elif line.startswith("-"):
            out.append(DiffLine("del", line[1:]))
        else:
            out.append(DiffLine("same", line[1:]))
    return out


def history_url(run: Run, **query) -> str:
    url = reverse("run-description-history", args=[run.run_id])
    return f"{url}?{urlencode(query)}" if query else url
