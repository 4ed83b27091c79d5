"""Reads behind the run page: log search, non-regular files, ancestors, a page of
children, summaries of several runs, records, and times of a reduced series."""

import io
import os
from pathlib import Path

import numpy as np
import pytest

from studio.errors import ValidationError
from studio.tracking import selectors, services, storage

T0 = 1_750_000_000.0


def upload(run, name: str, data: bytes):
    return services.run_file_upload(run=run, name=name, content=io.BytesIO(data))


def path_of(run_file) -> Path:
    return Path(storage.files_storage().path(run_file.storage_key))


def test_search_finds_lines_case_insensitively_with_their_offsets(run):
    f = upload(run, "logs/std_log.txt", b"epoch 1 ok\nEpoch 2 ERROR here\nepoch 3 ok\nerror again")
    found = selectors.file_search(run_file=f, needle="error")
    assert found["matches"] == [
        {
            "offset": 11,
            "number": 2,
            "line": "Epoch 2 ERROR here",
            "before": ["epoch 1 ok"],
            "after": ["epoch 3 ok", "error again"],
        },
        {
            "offset": 41,
            "number": 4,
            "line": "error again",
            "before": ["Epoch 2 ERROR here", "epoch 3 ok"],
            "after": [],
        },
    ]
    assert found["next_offset"] is None and found["next_line"] is None


@pytest.mark.parametrize("block", [7, 16, 64, 1 << 20])
def test_search_gives_real_line_numbers_and_two_lines_of_context_across_blocks(
    run, monkeypatch, block
):
    monkeypatch.setattr(selectors, "SEARCH_BLOCK", block)
    lines = [f"line {i}" + (" needle" if i % 7 == 3 else "") for i in range(1, 41)]
    f = upload(run, "logs/a.txt", "\n".join(lines).encode() + b"\n")
    found = selectors.file_search(run_file=f, needle="needle")
    numbers = [i for i in range(1, 41) if i % 7 == 3]
    assert [m["number"] for m in found["matches"]] == numbers
    for match, n in zip(found["matches"], numbers, strict=True):
        assert match["line"] == lines[n - 1]
        assert match["before"] == lines[max(n - 3, 0) : n - 1]
        assert match["after"] == lines[n : n + 2]


def test_search_continues_with_the_line_number_where_it_stopped(run):
    f = upload(run, "logs/a.txt", b"".join(b"hit %d\nmiss\n" % i for i in range(10)))
    first = selectors.file_search(run_file=f, needle="hit", max_matches=4)
    assert [m["number"] for m in first["matches"]] == [1, 3, 5, 7]
    assert first["matches"][-1]["after"] == ["miss", "hit 4"]  # read past where it stopped
    rest = selectors.file_search(
        run_file=f, needle="hit", offset=first["next_offset"], line=first["next_line"]
    )
    assert [m["number"] for m in rest["matches"]] == [9, 11, 13, 15, 17, 19]


def test_search_sees_a_match_that_straddles_two_blocks(run, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_BLOCK", 16)
    data = b"aaaaaaaaaaaaa needle zz\n" * 3
    f = upload(run, "logs/a.txt", data)
    found = selectors.file_search(run_file=f, needle="NEEDLE")
    assert [m["offset"] for m in found["matches"]] == [0, 24, 48]
    assert all(m["line"] == "aaaaaaaaaaaaa needle zz" for m in found["matches"])


def test_search_stops_at_max_matches_and_continues_from_next_offset(run):
    f = upload(run, "logs/a.txt", b"".join(b"hit %d\n" % i for i in range(10)))
    first = selectors.file_search(run_file=f, needle="hit", max_matches=4)
    assert [m["line"] for m in first["matches"]] == ["hit 0", "hit 1", "hit 2", "hit 3"]
    rest = selectors.file_search(run_file=f, needle="hit", offset=first["next_offset"])
    assert [m["line"] for m in rest["matches"]] == [f"hit {i}" for i in range(4, 10)]


def test_search_scans_at_most_max_bytes_per_call(run):
    f = upload(run, "logs/a.txt", b"x\n" * 100 + b"found\n")
    first = selectors.file_search(run_file=f, needle="found", max_bytes=50)
    assert first["matches"] == [] and first["next_offset"] == 50
    offset, matches = first["next_offset"], []
    while offset is not None:
        step = selectors.file_search(run_file=f, needle="found", offset=offset, max_bytes=50)
        matches += step["matches"]
        offset = step["next_offset"]
    assert [(m["offset"], m["line"]) for m in matches] == [(200, "found")]


@pytest.mark.parametrize("needle", ["", "x" * 201, None])
def test_search_refuses_an_empty_or_huge_needle(run, needle):
    f = upload(run, "logs/a.txt", b"abc")
    with pytest.raises(ValidationError):
        selectors.file_search(run_file=f, needle=needle)


@pytest.mark.local_disk  # a file swapped in place on the disk
def test_B7_a_log_replaced_by_a_fifo_is_refused_without_blocking(run):
    f = upload(run, "logs/std_log.txt", b"hello")
    path = path_of(f)
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(ValidationError, match="not a regular file"):
        selectors.file_read(run_file=f, offset=-10)


@pytest.mark.local_disk  # a file swapped in place on the disk
def test_B7_a_log_replaced_by_a_symlink_to_dev_zero_is_refused(run):
    f = upload(run, "logs/std_log.txt", b"hello")
    path = path_of(f)
    path.unlink()
    path.symlink_to("/dev/zero")
    with pytest.raises(ValidationError):
        selectors.file_read(run_file=f)
    with pytest.raises(ValidationError):
        selectors.file_search(run_file=f, needle="a")


def test_ancestors_come_top_first(experiment):
    top = services.run_create(experiment=experiment, submitted_by="alice")
    middle = services.run_create(experiment=experiment, submitted_by="alice", parent=top)
    leaf = services.run_create(experiment=experiment, submitted_by="alice", parent=middle)
    assert [r.pk for r in selectors.run_ancestors(run=leaf)] == [top.pk, middle.pk]
    assert selectors.run_ancestors(run=top) == []


def test_children_come_a_page_at_a_time_oldest_first(run):
    children = services.run_create_children(parent=run, count=5, submitted_by="alice")
    page = list(selectors.run_children_page(run=run, offset=2, limit=2))
    assert [c.run_id for c in page] == [children[2].run_id, children[3].run_id]


def test_summaries_of_several_runs_and_child_metric_names(run, django_assert_num_queries):
    a, b = services.run_create_children(parent=run, count=2, submitted_by="alice")
    for child, value in ((a, 0.5), (b, 0.25)):
        services.metric_log_batch(
            run=child,
            batch_id=f"b-{child.pk}",
            series=[
                {"name": "loss", "steps": [0, 1], "values": [1.0, value], "times": [T0, T0 + 1]}
            ],
            records=[{"name": "weights", "kind": "list", "data": [1, 2]}],
        )
    with django_assert_num_queries(1):
        summaries = list(selectors.metric_summaries_of(runs=[a, b], names=["loss"]))
    assert [(s.run_id, s.last_value) for s in summaries] == [(a.pk, 0.5), (b.pk, 0.25)]
    assert selectors.child_metric_names(run=run) == ["loss"]


def test_records_are_grouped_by_name_oldest_first(run):
    services.metric_log_batch(
        run=run,
        batch_id="r",
        records=[
            {"name": "per_class", "kind": "row", "data": {"cls": 0, "recall": 0.9}},
            {"name": "per_class", "kind": "row", "data": {"cls": 1, "recall": 0.8}},
            {"name": "weights", "kind": "list", "data": [0.1, 0.2]},
        ],
    )
    records = selectors.metric_records(run=run)
    assert records["per_class"] == [{"cls": 0, "recall": 0.9}, {"cls": 1, "recall": 0.8}]
    assert records["weights"] == [[0.1, 0.2]]


def test_times_at_steps_are_interpolated_from_the_logged_points(run):
    services.metric_log_batch(
        run=run,
        batch_id="t",
        series=[
            {
                "name": "loss",
                "steps": [0, 10, 20],
                "values": [3, 2, 1],
                "times": [T0, T0 + 10, T0 + 30],
            }
        ],
    )
    times = selectors.metric_times_at(run=run, name="loss", steps=np.array([0, 5, 15, 20]))
    assert times.tolist() == [T0, T0 + 5, T0 + 20, T0 + 30]
