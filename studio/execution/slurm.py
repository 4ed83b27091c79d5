"""Slurm, as a kind of compute target: the settings a ``slurm`` target keeps (checked
here, before anything is stored), the ``sbatch`` command line the bridge builds from
them, and what Slurm's ``scontrol`` / ``sacct`` say about a job. No Django import: the
SDK checks the same settings before it sends them.

The bridge itself (``studio worker --target NAME`` on a slurm target) is in
``studio.execution.bridge``.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from studio.errors import ValidationError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
# gpu:1, gpu:a100:2, gpu, shard:2, several comma separated
GRES_RE = re.compile(
    r"^[A-Za-z][A-Za-z0-9_]*(:[A-Za-z0-9_.-]+)?(:\d+)?(,[A-Za-z][A-Za-z0-9_]*(:[A-Za-z0-9_.-]+)?(:\d+)?)*$"
)
OPTION_RE = re.compile(r"^--([a-z][a-z0-9-]*)(=(.*))?$", re.DOTALL)
MAX_EXTRA = 20
MAX_ARG = 200

# sbatch options the bridge sets itself, or that would break it: what it parses
# (--parsable), where it finds a job (--job-name), what runs (--wrap), where the
# job's own output goes, the environment the supervisor needs (--export), one job per
# run (--array, --requeue), and a bridge that must not block (--wait, --test-only).
REFUSED = {
    "output": "the bridge sets where the job's own output goes",
    "error": "the bridge sets where the job's own output goes",
    "input": "the job reads nothing from stdin",
    "wrap": "the job runs Studio's supervisor, not a command of its own",
    "parsable": "the bridge passes --parsable itself to read the job id",
    "job-name": "the bridge names jobs studio-RUN_ID to find them again",
    "export": "the supervisor needs the bridge's environment (database, STUDIO_HOME)",
    "export-file": "the supervisor needs the bridge's environment (database, STUDIO_HOME)",
    "array": "a run is one job",
    "requeue": "a requeued job would run the run twice; the run fails instead",
    "wait": "the bridge must not wait for a job to end",
    "test-only": "the job would never run",
    "hold": "the job would wait for someone to release it",
    "uid": "jobs run as the bridge's user",
    "gid": "jobs run as the bridge's group",
    "partition": "use the partition setting",
    "account": "use the account setting",
    "time": "use the time_limit setting",
    "gres": "use the gres setting",
}

# Slurm job states: still to end, and how a job that ended without its supervisor
# reporting is named in the run's reason.
PENDING_STATES = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"}
LIVE_STATES = PENDING_STATES | {
    "CONFIGURING",
    "RUNNING",
    "COMPLETING",
    "SUSPENDED",
    "STOPPED",
    "RESIZING",
    "SIGNALING",
    "STAGE_OUT",
}


def _time_limit(value: str) -> str:
    """Slurm's formats: minutes, minutes:seconds, hours:minutes:seconds, days-hours,
    days-hours:minutes, days-hours:minutes:seconds; more than zero."""
    text = value.strip()
    match = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text)
    if not match:
        raise ValidationError(
            f"time_limit {value!r} is not a Slurm time: use MINUTES, HH:MM:SS or D-HH:MM:SS.",
            field="time_limit",
        )
    days, first, second, third = match.groups()
    if days is not None:
        parts = [int(days) * 24 + int(first), int(second or 0), int(third or 0)]  # d-h[:m[:s]]
        hours, minutes, seconds = parts
    elif third is not None:
        hours, minutes, seconds = int(first), int(second), int(third)
    elif second is not None:
        hours, minutes, seconds = 0, int(first), int(second)
    else:
        hours, minutes, seconds = 0, int(first), 0
    if (days is not None or third is not None) and minutes > 59:
        raise ValidationError(f"time_limit {value!r}: minutes go to 59.", field="time_limit")
    if (second is not None or third is not None) and seconds > 59:
        raise ValidationError(f"time_limit {value!r}: seconds go to 59.", field="time_limit")
    if hours * 3600 + minutes * 60 + seconds <= 0:
        raise ValidationError("time_limit must be more than zero.", field="time_limit")
    return text


def _name(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise ValidationError(
            f"{field} {value!r} is not a Slurm name: letters, digits, '_', '.', '+' or '-', "
            "at most 64.",
            field=field,
        )
    return value


def _extra(values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ValidationError(
            "extra_sbatch_args must be a list of options such as ['--qos=high'].",
            field="extra_sbatch_args",
        )
    if len(values) > MAX_EXTRA:
        raise ValidationError(
            f"extra_sbatch_args holds at most {MAX_EXTRA} options.", field="extra_sbatch_args"
        )
    clean = []
    for arg in values:
        if not isinstance(arg, str) or len(arg) > MAX_ARG or any(c in arg for c in "\n\r\0"):
            raise ValidationError(
                f"extra_sbatch_args: {arg!r} is not an option of at most {MAX_ARG} characters "
                "on one line.",
                field="extra_sbatch_args",
            )
        match = OPTION_RE.match(arg)
        if not match:
            raise ValidationError(
                f"extra_sbatch_args: {arg!r} is not a long option: write --name or "
                "--name=value (one list item each; short options are not taken).",
                field="extra_sbatch_args",
            )
        option = match.group(1)
        if option in REFUSED:
            raise ValidationError(
                f"extra_sbatch_args: --{option} is refused: {REFUSED[option]}.",
                field="extra_sbatch_args",
            )
        clean.append(arg)
    return clean


SETTINGS = ("partition", "account", "time_limit", "gres", "extra_sbatch_args")


def check_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """A slurm target's settings, checked: partition, account, time_limit, gres (None:
    the cluster's default) and extra_sbatch_args (long options, none that would
    break the bridge). ValidationError names the wrong one."""
    settings = dict(settings or {})
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise ValidationError(
            f"Unknown slurm settings {sorted(unknown)}; known: {', '.join(SETTINGS)}.",
            field="slurm",
        )
    time_limit = settings.get("time_limit")
    if time_limit is not None and not isinstance(time_limit, str):
        raise ValidationError("time_limit must be a string such as '02:00:00'.", field="time_limit")
    gres = settings.get("gres")
    if gres not in (None, "") and (not isinstance(gres, str) or not GRES_RE.match(gres)):
        raise ValidationError(
            f"gres {gres!r} is not a Slurm GRES such as 'gpu:1' or 'gpu:a100:2'.", field="gres"
        )
    return {
        "partition": _name(settings.get("partition"), "partition"),
        "account": _name(settings.get("account"), "account"),
        "time_limit": _time_limit(time_limit) if time_limit not in (None, "") else None,
        "gres": gres or None,
        "extra_sbatch_args": _extra(settings.get("extra_sbatch_args")),
    }


# --- submitting and watching jobs ---------------------------------------------------


def job_name(run_id: str) -> str:
    return f"studio-{run_id}"


def sbatch_command(settings: Mapping[str, Any], *, run_id: str, output: str) -> list[str]:
    """The ``sbatch`` command line of a run's job (its batch script goes to stdin)."""
    command = [
        "sbatch",
        "--parsable",
        f"--job-name={job_name(run_id)}",
        f"--output={output}",
        "--no-requeue",  # preempted or failed node: the run fails, it is not run twice
        "--export=ALL",
    ]
    for option, key in (
        ("partition", "partition"),
        ("account", "account"),
        ("time", "time_limit"),
        ("gres", "gres"),
    ):
        if settings.get(key):
            command.append(f"--{option}={settings[key]}")
    return [*command, *settings.get("extra_sbatch_args", [])]


def batch_script(python: str, run_id: str, supervisor_args: Sequence[str]) -> str:
    """The job: Studio's supervisor for the run, in place of the shell (so Slurm's
    signals reach it and its exit is the job's)."""
    args = " ".join(shlex.quote(a) for a in supervisor_args)
    return (
        "#!/bin/bash\n"
        f"# Studio run {run_id}: its supervisor runs the script, heartbeats, sends the log\n"
        f"exec {shlex.quote(python)} -m studio.execution.supervisor {shlex.quote(run_id)} {args}\n"
    )


class SlurmError(Exception):
    """A Slurm command failed; the message is its stderr."""


def run_command(
    command: Sequence[str],
    *,
    stdin: str | None = None,
    timeout: float = 30,
    env: Mapping[str, str] | None = None,
) -> str:
    try:
        done = subprocess.run(
            list(command),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
        )
    except FileNotFoundError:
        raise SlurmError(
            f"{command[0]} is not installed here (is this a Slurm login node?)"
        ) from None
    except subprocess.TimeoutExpired:
        raise SlurmError(f"{command[0]} did not answer in {timeout:.0f} s") from None
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise SlurmError(f"{command[0]} failed: {message[-1] if message else done.returncode}")
    return done.stdout


def submit(
    settings: Mapping[str, Any],
    *,
    run_id: str,
    output: str,
    script: str,
    env: Mapping[str, str] | None = None,
) -> str:
    """Submit the job (``env``: what it exports); its id (``sbatch --parsable`` prints
    ``ID`` or ``ID;CLUSTER``)."""
    command = sbatch_command(settings, run_id=run_id, output=output)
    out = run_command(command, stdin=script, env=env)
    job_id = out.strip().split(";")[0]
    if not job_id.isdigit():
        raise SlurmError(f"sbatch printed {out.strip()!r}, not a job id")
    return job_id


@dataclass
class Job:
    job_id: str
    name: str
    state: str
    reason: str
    exit_code: str = ""

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES


FIELD_RE = re.compile(r"(\w+)=(\S*)")


def parse_scontrol(text: str) -> dict[str, Job]:
    """``scontrol show job -o`` (one line per job) as jobs by id."""
    jobs = {}
    for line in text.splitlines():
        fields = dict(FIELD_RE.findall(line))
        if "JobId" not in fields:
            continue
        jobs[fields["JobId"]] = Job(
            job_id=fields["JobId"],
            name=fields.get("JobName", ""),
            state=fields.get("JobState", "UNKNOWN"),
            reason=fields.get("Reason", ""),
            exit_code=fields.get("ExitCode", ""),
        )
    return jobs


def jobs() -> dict[str, Job]:
    """Every job slurmctld still knows (running, pending, and ended within MinJobAge),
    in one call."""
    text = run_command(["scontrol", "show", "job", "-o"])
    if text.strip().startswith("No jobs"):
        return {}
    return parse_scontrol(text)


def sacct_state(job_id: str) -> str | None:
    """The job's final state from accounting (``CANCELLED by 1000``, ``TIMEOUT``...),
    None where there is no accounting or it does not know the job."""
    try:
        out = run_command(
            ["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State"], timeout=10
        ).strip()
    except SlurmError:
        return None
    return out.splitlines()[0].strip() if out else None


def cancel(job_id: str) -> None:
    run_command(["scancel", job_id])


def ended_reason(state: str, *, by_studio: bool) -> str:
    """The reason a run gets when its job ended without the supervisor reporting:
    the Slurm state, and who cancelled it (``CANCELLED by user``) when Studio did not."""
    state = state.split()[0] if state else "UNKNOWN"
    if state == "CANCELLED" and not by_studio:
        return "CANCELLED by user"
    return state
