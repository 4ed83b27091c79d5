"""Live log benchmark: server time to open the last 64 KB of a 1 GB live log stored as
chunks plus an index (as supervisors ship it), on the local disk and in an
S3-compatible bucket (moto's server on 127.0.0.1, in the parent process: every read is
a real HTTP request to it), on SQLite and on PostgreSQL. Also a ranged download of
that tail (``Range: bytes=-65536``) and a read from the middle of the log.

    .venv/bin/python bench/log_storage.py [--postgres URL | --no-postgres] [--log-mb N]
        [--storage local|s3|both]

Server time is measured in-process: the view called through Django's test client
(session, access check, index query, ranged read of the chunk, decoding). No HTTP
between the client and the studio; HTTP between the studio and the bucket.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from time import perf_counter

import harness

TAIL_TARGET_MS = 20.0
REPEAT = 21
SHIP = 1 << 20  # bytes per chunk: what a supervisor ships at most per half second
DATABASE = "studio_bench_log_storage"


def add_arguments(parser) -> None:
    parser.add_argument("--log-mb", type=int, default=1024, help="size of the log in MB")
    parser.add_argument("--storage", choices=["local", "s3", "both"], default="both")
    parser.add_argument("--s3-endpoint", help=argparse.SUPPRESS)


# --- child: measure -----------------------------------------------------------------


def _median_ms(call, repeat: int = REPEAT):
    result = call()  # warm: connection, query compilation, page cache
    seconds = []
    for _ in range(repeat):
        started = perf_counter()
        result = call()
        seconds.append(perf_counter() - started)
    return statistics.median(seconds) * 1e3, result


def _block() -> bytes:
    return b"".join(
        b"epoch %06d step %09d: loss=0.%06d lr=0.000100 \x1b[32mok\x1b[0m\n" % (i % 1000, i, i)
        for i in range(16_384)
    )[:SHIP]


def child(args) -> None:
    import os

    if args.s3_endpoint:  # before Django reads its settings
        os.environ.update(
            STUDIO_STORAGE="s3",
            STUDIO_S3_BUCKET="studio-bench",
            STUDIO_S3_ENDPOINT_URL=args.s3_endpoint,
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_DEFAULT_REGION="us-east-1",
        )
    backend = harness.setup_child()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from studio.accounts.models import Membership, Role
    from studio.tracking import services
    from studio.tracking.models import LogChunk

    workspace = services.workspace_get_or_create(name="default")
    experiment = services.experiment_get_or_create(workspace=workspace, name="bench-logs")
    run = services.run_create(experiment=experiment, submitted_by="bench")
    user = get_user_model().objects.create_user(username="bench", password="bench-pw-0")
    Membership.objects.create(user=user, workspace=workspace, role=Role.READER)
    client = Client()
    client.force_login(user)

    block = _block()
    last_line = b"ERROR: CUDA out of memory at step 123456789\n"
    target = args.log_mb * 1024 * 1024
    started = perf_counter()
    size, last_64k = 0, b""
    while size < target:
        left = target - size
        data = block if left > len(block) else block[: left - len(last_line)] + last_line
        size = services.run_live_log_append(run=run, offset=size, data=data)
        last_64k = (last_64k + data)[-65536:]
    figures: dict = {"write_s": perf_counter() - started, "log_bytes": size}
    figures["chunks"] = LogChunk.objects.filter(run_file__run=run).count()

    log_url = f"/runs/{run.run_id}/log/?name=logs/std_log.txt"
    figures["tail_ms"], tail = _median_ms(lambda: client.get(log_url))
    body = tail.json()
    figures["tail_ok"] = (
        tail.status_code == 200
        and body["end"] == size
        and body["text"].endswith(last_line.decode())
        and body["end"] - body["start"] <= 64 * 1024
    )
    figures["middle_ms"], middle = _median_ms(lambda: client.get(f"{log_url}&offset={size // 2}"))
    figures["middle_ok"] = middle.status_code == 200 and middle.json()["start"] == size // 2

    file_url = f"/runs/{run.run_id}/files/logs/std_log.txt"

    def ranged():
        response = client.get(file_url, HTTP_RANGE="bytes=-65536")
        return response, b"".join(response.streaming_content)

    figures["range_ms"], (response, content) = _median_ms(ranged)
    figures["range_ok"] = response.status_code == 206 and content == last_64k
    # What the storage alone costs for that tail: one ranged read of the last chunk.
    from studio.tracking import storage

    last = LogChunk.objects.filter(run_file__run=run).order_by("-offset").first()

    def bare_read():
        with storage.open_object(last.storage_key, size=last.size, buffered=False) as f:
            f.seek(last.size - 65536)
            return f.read(65536)

    figures["bare_ms"], _ = _median_ms(bare_read)
    figures["version"] = harness.backend_version()
    figures["storage"] = "s3" if args.s3_endpoint else "local"
    figures["backend"] = backend
    harness.write_results(args.child, figures)


# --- parent: print ------------------------------------------------------------------


def report(backend: str, r: dict) -> bool:
    where = f"{backend}, {'S3 (moto, loopback)' if r['storage'] == 's3' else 'local disk'}"
    harness.line(where, f"{r['version']}, {harness.machine()}")
    met = r["tail_ms"] <= TAIL_TARGET_MS
    harness.line(
        where,
        f"live log of {r['log_bytes'] / 1024**3:.2f} GB in {harness.n(r['chunks'])} chunks "
        f"(shipped in {r['write_s']:.1f} s): GET /runs/<id>/log/ (last 64 KB) "
        f"{r['tail_ms']:.2f} ms server time, median of {REPEAT}",
        f"target <= {TAIL_TARGET_MS:g} ms: {'met' if met else 'MISSED'}",
    )
    harness.line(
        where,
        f"from the middle: {r['middle_ms']:.2f} ms; download with Range: bytes=-65536: "
        f"{r['range_ms']:.2f} ms; the storage alone (one ranged read of 64 KB of the last "
        f"chunk): {r['bare_ms']:.2f} ms",
    )
    ok = r["tail_ok"] and r["middle_ok"] and r["range_ok"]
    harness.line(
        where,
        "the tail ends at the log's last line, <= 64 KB; the range is the log's last 65,536 bytes",
        harness.verdict(ok),
    )
    return ok


def main() -> int:
    args = harness.parse_args(__doc__.splitlines()[0], add_arguments, DATABASE)
    if args.child:
        child(args)
        return 0
    argv = ["--log-mb", str(args.log_mb)]
    code = 0
    if args.storage in ("local", "both"):
        code |= harness.run_backends(__file__, args, argv, report, database=DATABASE)
    if args.storage in ("s3", "both"):
        sys.path.insert(0, str(harness.ROOT))
        from tests.s3server import S3Server

        server = S3Server(bucket="studio-bench").start()
        try:
            code |= harness.run_backends(
                __file__, args, [*argv, "--s3-endpoint", server.url], report, database=DATABASE
            )
        finally:
            server.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
