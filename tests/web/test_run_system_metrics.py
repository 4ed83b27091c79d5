"""System metrics (``sys/...``, sampled by a run's supervisor) on the studio pages:
a group of their own on the run's Metrics tab, after the run's own metrics, and
never the default metric of the experiment's chart or the children tab."""

from __future__ import annotations

from studio.tracking import services
from studio.tracking.runlist import pages
from tests.web.run_page_helpers import T0, Elements, log_series

SYSTEM = ("sys/cpu_percent", "sys/memory_rss_mb", "sys/gpu0/util_percent")


def log_system(run, name: str, values) -> None:
    values = list(values)
    services.metric_log_batch(
        run=run,
        batch_id=f"sys-{name}",
        series=[
            {
                "name": name,
                "steps": list(range(len(values))),
                "values": values,
                "times": [T0 + i for i in range(len(values))],
            }
        ],
        system=True,
    )


def metrics_tab(client, run) -> str:
    response = client.get(f"/runs/{run.run_id}/", {"tab": "metrics"})
    assert response.status_code == 200
    return response.content.decode()


def chart_names(html: str) -> list[str]:
    return [a["data-name"] for a in Elements(html).find("figure") if "data-chart" in a]


def test_system_metrics_are_a_group_of_their_own_after_the_runs_metrics(client, member, run):
    log_series(run, "loss", [3.0, 2.0])
    log_series(run, "accuracy", [0.5, 0.7])
    for name in SYSTEM:
        log_system(run, name, [10.0, 20.0, 30.0])
    client.force_login(member)
    body = metrics_tab(client, run)

    own, system = body.split('<h2 id="system-title" class="charts-title">System</h2>')
    assert chart_names(own) == ["accuracy", "loss"]
    assert chart_names(system) == sorted(SYSTEM)
    # The run's table lists its own metrics; the System group has a table of its own.
    assert '<th scope="row">loss</th>' in own and "sys/" not in own.split("summary-title")[1]
    for name in SYSTEM:
        assert f'<th scope="row">{name}</th>' in system
    assert 'aria-labelledby="system-title"' in body
    # Every chart is embedded or lazily loaded the same way as the run's own.
    assert body.count('type="application/json"') == 5


def test_a_run_with_only_system_metrics_shows_them_and_says_it_logged_none(client, member, run):
    log_system(run, "sys/cpu_percent", [50.0])
    client.force_login(member)
    body = metrics_tab(client, run)
    assert "No metrics yet" not in body
    assert "The script has logged no metrics of its own yet" in body
    assert ">System</h2>" in body and chart_names(body) == ["sys/cpu_percent"]


def test_a_run_without_system_metrics_has_no_system_group(client, member, run):
    log_series(run, "loss", [1.0])
    client.force_login(member)
    body = metrics_tab(client, run)
    assert ">System</h2>" not in body and 'data-metric-group="system"' not in body
    empty = metrics_tab(client, services.run_create(experiment=run.experiment, submitted_by="b"))
    assert "No metrics yet" in empty and ">System</h2>" not in empty


def test_the_experiments_default_metric_is_its_own_however_many_runs_have_sys(experiment):
    runs = [services.run_create(experiment=experiment, submitted_by="bob") for _ in range(3)]
    for r in runs:
        log_system(r, "sys/cpu_percent", [1.0])
    log_series(runs[0], "val_loss", [0.3])
    names = pages.experiment_metric_names(experiment=experiment)
    assert names == ["val_loss", "sys/cpu_percent"]  # still there to pick


def test_the_children_tabs_first_metric_is_one_the_children_logged(client, member, run):
    kid = services.run_create(experiment=run.experiment, submitted_by="bob", parent=run)
    log_series(kid, "val_loss", [0.3])
    log_system(kid, "sys/cpu_percent", [1.0])  # sorts before "val_loss"
    client.force_login(member)
    body = client.get(f"/runs/{run.run_id}/", {"tab": "children"}).content.decode()
    assert '<option value="val_loss" selected>' in body
    assert '<option value="sys/cpu_percent">' in body
