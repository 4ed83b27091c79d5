"""``RunDetails(run).show()``, v1's ``azureml.widgets``: in Jupyter a block with the
run's status, a link to its page and its latest metrics, refreshed while the run is
going (an ipywidgets HTML widget when ipywidgets is installed, else an updatable
IPython display); in a terminal one line with the run's URL. Both are optional
imports: nothing here needs them to be installed."""

from __future__ import annotations

import html
import sys
import threading
from collections.abc import Callable
from typing import Any

from studio.rules.transitions import TERMINAL

REFRESH_SECONDS = 2.0
MAX_METRICS = 20  # rows shown; the run's page has them all


def _in_notebook() -> bool:
    """A Jupyter kernel (not the IPython terminal, not plain Python)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except Exception:
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def _latest(value: Any) -> Any:
    """What a metric shows in the table: a series' last point, else the value."""
    if isinstance(value, list) and value and not isinstance(value[-1], (list, dict)):
        return value[-1]
    return value


def render_html(run: Any) -> str:
    """The block shown for ``run``: status, link, latest metrics (all escaped)."""
    status = run.get_status()
    url = run.get_portal_url()
    metrics = run.get_metrics()
    rows = "".join(
        f"<tr><th>{html.escape(str(name))}</th>"
        f"<td>{html.escape(repr(_latest(value))[:200])}</td></tr>"
        for name, value in list(metrics.items())[:MAX_METRICS]
    )
    more = len(metrics) - MAX_METRICS
    note = f"<p>{more} more on the run's page.</p>" if more > 0 else ""
    table = f"<table>{rows}</table>{note}" if rows else "<p>No metrics yet.</p>"
    return (
        '<div class="studio-run-details">'
        f"<p><strong>{html.escape(run.id)}</strong> &middot; "
        f"status <strong>{html.escape(status)}</strong> &middot; "
        f'<a href="{html.escape(url)}" target="_blank" rel="noopener">open in Studio</a></p>'
        f"{table}</div>"
    )


class RunDetails:
    """v1's run widget for a ``Run`` (any run: script, pipeline, interactive)."""

    def __init__(self, run_instance: Any):
        self.run_instance = run_instance
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def get_widget_data(self, widget_settings: dict | None = None) -> dict[str, Any]:
        run = self.run_instance
        return {
            "run_id": run.id,
            "status": run.get_status(),
            "url": run.get_portal_url(),
            "metrics": run.get_metrics(),
        }

    def show(self, render_lib: Any = None, widget_settings: dict | None = None) -> Any:
        """Show the run: in Jupyter a refreshing block, in a terminal one line."""
        if not _in_notebook():
            print(f"Run {self.run_instance.id}: {self.run_instance.get_portal_url()}")
            return None
        try:
            import ipywidgets

            widget = ipywidgets.HTML(value=render_html(self.run_instance))
            from IPython.display import display

            display(widget)
            self._follow(lambda text: setattr(widget, "value", text))
            return widget
        except ImportError:
            from IPython.display import HTML, display

            handle = display(HTML(render_html(self.run_instance)), display_id=True)
            self._follow(lambda text: handle.update(HTML(text)))
            return handle

    def _follow(self, update: Callable[[str], None], every: float = REFRESH_SECONDS) -> None:
        """Refresh the block in the background until the run has ended."""
        if self.run_instance.get_status() in TERMINAL:
            return
        self._thread = threading.Thread(
            target=self._refresh, args=(update, every), name="studio-run-details", daemon=True
        )
        self._thread.start()

    def _refresh(self, update: Callable[[str], None], every: float) -> None:
        while not self._stop.wait(every):
            try:
                status = self.run_instance.get_status()
                update(render_html(self.run_instance))  # shows this status or a later one
                if status in TERMINAL:
                    return
            except Exception as exc:  # the studio may be away for a moment
                print(f"studio: refreshing the run details failed: {exc}", file=sys.stderr)

    def stop(self) -> None:
        self._stop.set()


def set_diagnostics_collection(send_diagnostics: bool = True, path: str | None = None) -> None:
    """v1's telemetry switch (``azureml.telemetry``): Studio sends no diagnostics,
    so there is nothing to switch."""
