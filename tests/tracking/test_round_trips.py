"""How often a request-at-a-time path waits on PostgreSQL (issue 16), counted on the
wire: the test's connection goes through a relay that counts the times the server
answers after the client has sent (PostgreSQL sends a pipeline's answers only at its
Sync or Flush, so each count is one wait of the client's). Statement counts are in
test_query_counts_lean; here, what pipelining saves: BEGIN sent with the first
statement, COMMIT with the last writes (``studio.core.postgresql``)."""

from __future__ import annotations

import selectors
import socket
import threading
from contextlib import contextmanager

import pytest
from django.db import IntegrityError, connection, transaction

from studio.core import prepared
from studio.tracking import services
from studio.tracking.models import Run, RunChange, RunStatus
from tests.api.conftest import post

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="round trips to a PostgreSQL server"
)


class Relay:
    """A TCP relay to the test database's server, counting its answers."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.answers = 0
        self._last = "server"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        client, _ = self.listener.accept()
        server = socket.create_connection(self.target)
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, (server, "client"))
        sel.register(server, selectors.EVENT_READ, (client, "server"))
        while not self._stop.is_set():
            for key, _ in sel.select(timeout=0.1):
                other, side = key.data
                data = key.fileobj.recv(65536)
                if not data:
                    return
                if side == "server" and self._last == "client":
                    self.answers += 1
                self._last = side
                other.sendall(data)

    def close(self) -> None:
        self._stop.set()
        self.listener.close()


@pytest.fixture
def relay(transactional_db):
    """The default connection, reopened through a Relay for the test."""
    settings = connection.settings_dict
    host, port = settings["HOST"] or "127.0.0.1", int(settings["PORT"] or 5432)
    found = Relay(host, port)
    connection.close()
    saved = (settings["HOST"], settings["PORT"])
    settings["HOST"], settings["PORT"] = "127.0.0.1", str(found.port)
    try:
        connection.ensure_connection()
        yield found
    finally:
        connection.close()
        settings["HOST"], settings["PORT"] = saved
        found.close()


@contextmanager
def waits(relay: Relay):
    """The number of the server's answers within the block, as ``counted[0]``."""
    counted = [0]
    before = relay.answers
    yield counted
    counted[0] = relay.answers - before


def test_a_runs_start_waits_three_times_and_its_end_twice(relay, sdk):
    exp = sdk.Experiment(sdk.Workspace.from_config(), "trips")
    for _ in range(prepared.PREPARE_AFTER + 1):  # the statements prepared
        exp.start_logging(outputs=False).complete()
    with waits(relay) as started:
        run = exp.start_logging(outputs=False)
    with waits(relay) as completed:
        run.complete()
    # [BEGIN, the number], [the run's INSERT], [the change, COMMIT] (was 5) ...
    assert started[0] == 3
    # ... [BEGIN, the UPDATE answering the run], [the change, COMMIT] (was 4).
    assert completed[0] == 2
    found = Run.objects.get(run_id=run.id)
    assert found.status == RunStatus.COMPLETED
    assert list(RunChange.objects.filter(run=found).values_list("kind", flat=True)) == [
        "created",
        "status",
    ]


def test_a_one_point_metric_post_waits_five_times(relay, owner, experiment, monkeypatch):
    from studio.tracking.services import metrics

    monkeypatch.setattr(metrics, "heartbeat_every", lambda: 3600.0)
    run = services.run_create(experiment=experiment, submitted_by="alice")
    url = f"/api/v1/runs/{run.run_id}/metrics"

    def point(i: int) -> dict:
        series = {"name": "loss", "steps": [i], "values": [0.5], "times": [1_750_000_000.0]}
        return {"batch_id": f"b{i}", "series": [series]}

    for i in range(prepared.PREPARE_AFTER + 1):
        assert post(owner.api, url, point(i)).status_code == 200
    with waits(relay) as counted:
        response = post(owner.api, url, point(99))
    assert response.json()["stored"] == 1
    # The token, the run with the caller's access, [BEGIN, the lock, the read],
    # [the writes and the change], COMMIT (was 6: BEGIN waited on its own).
    assert counted[0] == 5


def test_a_failed_insert_in_a_pipelined_transaction_rolls_back_and_the_connection_goes_on(
    relay, experiment, monkeypatch
):
    """A run id taken between the check and the INSERT (another process, the same
    id): the INSERT fails inside the pipeline, the transaction rolls back (the
    experiment's counter too), and the next run is made on the same connection."""
    from studio.tracking.services import runs

    taken = services.run_create(experiment=experiment, submitted_by="a", run_id="taken_1")
    counter = type(experiment).objects.get(pk=experiment.pk).run_counter
    monkeypatch.setattr(runs, "_check_client_run_ids", lambda ids: None)  # the race
    with pytest.raises(IntegrityError):
        services.run_create(experiment=experiment, submitted_by="a", run_id="taken_1")
    assert not connection.in_atomic_block and connection.get_autocommit()
    assert type(experiment).objects.get(pk=experiment.pk).run_counter == counter
    again = services.run_create(experiment=experiment, submitted_by="a")
    assert again.number == taken.number + 1
    assert RunChange.objects.filter(run=again, kind="created").count() == 1


def test_a_rolled_back_pipelined_transaction_leaves_nothing_and_runs_no_hook(relay, experiment):
    hooks: list[str] = []
    with pytest.raises(RuntimeError), prepared.pipeline(), transaction.atomic():
        services.run_create(experiment=experiment, submitted_by="a", run_id="gone_1")
        transaction.on_commit(lambda: hooks.append("ran"))
        raise RuntimeError
    assert not Run.objects.filter(run_id="gone_1").exists()
    assert hooks == []
    assert connection.get_autocommit() and not connection.in_atomic_block


def test_a_commits_hooks_run_once_the_pipeline_has_ended(relay, experiment):
    """An on_commit hook may do what pipeline mode refuses (a server-side cursor: the
    change feed's prune iterates over what it moves)."""
    seen: list[tuple] = []

    def hook() -> None:
        raw = connection.connection
        seen.append((raw._pipeline is None, Run.objects.filter(run_id="kept_1").exists()))
        seen.append(("iterated", sum(1 for _ in Run.objects.all().iterator(chunk_size=1))))

    with prepared.pipeline(), transaction.atomic():
        services.run_create(experiment=experiment, submitted_by="a", run_id="kept_1")
        transaction.on_commit(hook)
        assert seen == []
    assert seen == [(True, True), ("iterated", 1)]


# --- errors inside a pipelined transaction (a review's findings) ---------------------


@pytest.fixture
def table(relay):
    """A one-column table of the test's own, and the connection's backend pid."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE trips_t (id int PRIMARY KEY)")
        cursor.execute("INSERT INTO trips_t VALUES (1)")
    try:
        yield backend_pid
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE trips_t")


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def ids() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM trips_t ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def insert(i: int, read: bool = False) -> None:
    with prepared.cursor() as cursor:
        cursor.execute("INSERT INTO trips_t VALUES (%s) RETURNING id", [i])
        if read:
            cursor.fetchone()


def test_a_write_answered_before_a_pipelined_transaction_is_not_rolled_back_with_it(table):
    """A statement whose answer was read (a flush, not a sync) left an implicit
    transaction open on the server: BEGIN must not make it part of the next one."""
    with prepared.pipeline():
        insert(5, read=True)
        with pytest.raises(RuntimeError), transaction.atomic():
            insert(6)
            raise RuntimeError
    assert ids() == [1, 5]


def test_an_unread_error_then_an_exception_rolls_back_on_the_same_connection(table):
    """The duplicate's error is still unread when the block raises: ROLLBACK is sent
    all the same, not the connection dropped."""
    pid = table()
    with pytest.raises(RuntimeError), prepared.pipeline(), transaction.atomic():
        insert(2)
        insert(1)  # a duplicate, its answer not read
        raise RuntimeError
    assert table() == pid
    assert ids() == [1]
    assert connection.get_autocommit() and not connection.in_atomic_block


def test_a_savepoint_rolled_back_inside_a_pipelined_transaction_keeps_the_rest(table):
    with prepared.pipeline(), transaction.atomic():
        insert(2)
        with pytest.raises(IntegrityError), transaction.atomic():
            insert(1, read=True)
        insert(3)
    assert ids() == [1, 2, 3]


def test_a_pipelined_savepoint_in_a_callers_transaction_fails_where_it_ends(table):
    """In a caller's atomic() the pipelined one is a savepoint: its error is raised
    at its end and rolled back to it, and the caller's transaction goes on."""
    pid = table()
    with transaction.atomic():
        insert(2, read=True)
        with pytest.raises(IntegrityError), prepared.pipeline(), transaction.atomic():
            prepared.answer("INSERT INTO trips_t VALUES (%s) RETURNING id", [1])
        assert not connection.needs_rollback
        insert(3)
    assert ids() == [1, 2, 3]
    assert table() == pid


def test_a_failing_hook_after_a_pipelines_error_does_not_hide_that_error(table, caplog):
    with pytest.raises(KeyError, match="the block's own"), prepared.pipeline():
        with transaction.atomic():
            insert(2)
            transaction.on_commit(lambda: 1 / 0)
        raise KeyError("the block's own")
    assert ids() == [1, 2]
    assert "An on_commit hook failed after a pipeline's error" in caplog.text
