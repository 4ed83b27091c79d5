"""``studio run archive|delete|restore``: through the SDK's local store."""

from __future__ import annotations


def _ids(cli, *filters: str) -> list[str]:
    return [r["id"] for r in cli("run", "list", "-e", "experiment", *filters).json()]


def test_archive_then_unarchive(cli, exp):
    run = exp.start_logging()
    run.complete()
    data = cli("run", "archive", "-r", run.id).json()
    assert data["id"] == run.id and data["archived"] is True
    assert _ids(cli) == []
    assert _ids(cli, "--filter", "archived") == [run.id]
    assert cli("run", "archive", "-r", run.id, "--undo").json()["archived"] is False
    assert _ids(cli) == [run.id]


def test_delete_then_restore(cli, exp):
    run = exp.start_logging()
    run.complete()
    assert cli("run", "delete", "-r", run.id).json()["deleted"] is True
    assert _ids(cli) == []
    shown = cli("run", "show", "-r", run.id)
    assert shown.code == 1 and "does not exist" in shown.err
    assert cli("run", "restore", "-r", run.id).json()["id"] == run.id
    assert _ids(cli) == [run.id]


def test_deleting_a_running_run_is_one_error_line_and_changes_nothing(cli, exp):
    run = exp.start_logging()
    result = cli("run", "delete", "-r", run.id)
    assert result.code == 1 and result.out == ""
    assert result.err.startswith("studio: error: ") and "is Running" in result.err
    assert _ids(cli) == [run.id]
    restored = cli("run", "restore", "-r", run.id)
    assert restored.code == 1 and "does not exist" in restored.err
