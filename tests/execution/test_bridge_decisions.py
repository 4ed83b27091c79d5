"""What a Slurm bridge decides from one look at Slurm and at its runs (issue 13,
item 2), without a cluster: ``Bridge.check`` and ``recover_claims`` through a port
that records what the bridge tells the studio. States a one-node test cluster cannot
produce on demand (NODE_FAIL, PREEMPTED, OUT_OF_MEMORY) are decided here exactly as
TIMEOUT and CANCELLED are end to end (tests/execution/test_slurm.py)."""

from __future__ import annotations

import pytest

from studio.execution import bridge as bridge_module
from studio.execution import slurm
from studio.execution.bridge import Bridge


class Port:
    def __init__(self):
        self.reports: list[tuple] = []

    def settings(self):
        return {"partition": "debug"}

    def report(self, run_id, action, **fields):
        self.reports.append((run_id, action, fields))
        return {"ended": True} if action == "end" else {"taken": True, "token": None}


@pytest.fixture
def decide(monkeypatch, tmp_path):
    cancelled: list[str] = []
    monkeypatch.setattr(slurm, "cancel", cancelled.append)
    monkeypatch.setattr(slurm, "sacct_state", lambda job_id: None)  # no accounting
    monkeypatch.setenv("STUDIO_CANCEL_GRACE_SECONDS", "10")
    port = Port()
    bridge = Bridge(port=port, me="login:hpc:1:1", server="http://s", output_dir=tmp_path)
    bridge.cancelled = cancelled
    return bridge


def record(status="Running", status_age=1.0, ended_age=1.0):
    return {
        "run_id": "r1",
        "job_id": "7",
        "status": status,
        "status_age": status_age,
        "ended_age": ended_age,
    }


def job(state, reason="None"):
    return slurm.Job(job_id="7", name="studio-r1", state=state, reason=reason)


@pytest.mark.parametrize(
    "state, reason",
    [
        ("NODE_FAIL", "NODE_FAIL"),
        ("PREEMPTED", "PREEMPTED"),
        ("TIMEOUT", "TIMEOUT"),
        ("OUT_OF_MEMORY", "OUT_OF_MEMORY"),
        ("CANCELLED", "CANCELLED by user"),
        ("FAILED", "FAILED"),
        ("COMPLETED", "COMPLETED"),  # ended, yet its supervisor never said so
    ],
)
def test_a_job_gone_without_its_supervisor_fails_the_run_with_slurms_state(decide, state, reason):
    decide.check(record("Running"), job(state))

    ((run_id, action, fields),) = decide.port.reports
    assert (run_id, action) == ("r1", "end")
    assert fields["status"] == "Failed" and fields["from_status"] == "Running"
    assert fields["reason"] == reason and fields["code"] == "slurm_job_ended"
    assert f"Slurm state: {state}" in fields["message"]
    assert decide.cancelled == []


def test_a_job_missing_from_slurm_fails_its_run_after_three_looks(decide):
    for _ in range(bridge_module.UNKNOWN_POLLS - 1):
        decide.check(record(), None)
    assert decide.port.reports == []
    decide.check(record(), None)
    ((_, action, fields),) = decide.port.reports
    assert action == "end" and fields["reason"] == "UNKNOWN"


def test_a_pending_job_shows_its_reason_once_until_it_changes(decide):
    for _ in range(3):
        decide.check(record("Queued"), job("PENDING", "Priority"))
    decide.check(record("Queued"), job("PENDING", "Resources"))

    assert [f["reason"] for _, a, f in decide.port.reports if a == "pending"] == [
        "Slurm job 7 pending (Priority)",
        "Slurm job 7 pending (Resources)",
    ]


def test_a_cancel_unanswered_past_the_grace_gets_scancel_and_not_before(decide):
    decide.check(record("CancelRequested", status_age=9.0), job("RUNNING"))
    assert decide.cancelled == []
    decide.check(record("CancelRequested", status_age=16.0), job("RUNNING"))
    assert decide.cancelled == ["7"]
    assert decide.port.reports == []  # the supervisor, or Slurm's end, decides the status


def test_a_cancel_while_pending_takes_the_job_out_and_cancels_the_run(decide):
    decide.check(record("CancelRequested"), job("PENDING", "Priority"))
    assert decide.cancelled == ["7"]
    ((_, action, fields),) = decide.port.reports
    assert (action, fields["status"], fields["from_status"]) == (
        "end",
        "Canceled",
        "CancelRequested",
    )


def test_an_ended_run_whose_job_lives_on_is_stopped_after_the_grace(decide):
    decide.check(record("Completed", ended_age=2.0), job("RUNNING"))
    assert decide.cancelled == []
    decide.check(record("Completed", ended_age=20.0), job("RUNNING"))
    decide.check(record("Failed"), job("PENDING"))
    assert decide.cancelled == ["7", "7"] and decide.port.reports == []


def test_claims_of_live_bridges_are_left_alone_and_dead_ones_recovered(decide, monkeypatch):
    submitted = []
    monkeypatch.setattr(decide, "submit", lambda run_id, tokens: submitted.append(run_id))
    jobs = {"7": job("RUNNING")}
    orphans = [
        {"run_id": "r1", "status": "Running", "worker": "far:hpc:5:5", "claimed_age": 40.0},
        {"run_id": "r2", "status": "Preparing", "worker": "far:hpc:5:5", "claimed_age": 5.0},
        {"run_id": "r3", "status": "Preparing", "worker": "far:hpc:5:5", "claimed_age": 40.0},
        {"run_id": "r4", "status": "Running", "worker": "far:hpc:5:5", "claimed_age": 40.0},
    ]

    decide.recover_claims(jobs, orphans)

    actions = [(r, a) for r, a, _ in decide.port.reports]
    # r1: its job is in Slurm → recorded; r2: claimed 5 s ago elsewhere → left alone;
    # r3: only claimed, no job → taken over; r4: started without a job → the lease decides.
    assert actions == [("r1", "submitted"), ("r3", "take_over")]
    assert decide.port.reports[0][2] == {"job_id": "7"}
    assert submitted == []  # the take-over answered without a token: nothing to submit
