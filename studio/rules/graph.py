"""The shape of a pipeline: unique step names, known dependencies, no cycle. No
Django import: the SDK checks a Pipeline when it is built, the service again when
it is submitted (over HTTP nobody else would)."""

from __future__ import annotations

from collections.abc import Sequence

from studio.errors import ValidationError


def check_steps(steps: Sequence[tuple[str, Sequence[str]]]) -> None:
    """``steps`` as (name, names it waits for)."""
    if not steps:
        raise ValidationError("A pipeline needs at least one step.", field="steps")
    names = [name for name, _ in steps]
    if len(set(names)) != len(names):
        raise ValidationError("Step names must be unique.", field="steps")
    for name, after in steps:
        for dep in after:
            if dep not in names:
                raise ValidationError(
                    f"Step {name!r} waits for unknown step {dep!r}.", field="after"
                )
    waits = {name: set(after) for name, after in steps}
    done: set[str] = set()
    while len(done) < len(waits):
        ready = [n for n, deps in waits.items() if n not in done and deps <= done]
        if not ready:
            raise ValidationError("The steps' dependencies form a cycle.", field="after")
        done.update(ready)
