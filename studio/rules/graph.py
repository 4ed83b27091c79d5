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


def layers(steps: Sequence[tuple[str, Sequence[str]]]) -> list[list[str]]:
    """The steps in layers for drawing: a step sits one layer right of the deepest
    step it waits for (a step that waits for nothing: layer 0). Within a layer the
    steps are ordered by the mean position of what they wait for (fewer crossing
    arrows), ties in the order of the definition. Steps that ``check_steps`` refuses
    raise its ValidationError."""
    if not steps:
        return []
    check_steps(steps)
    order = {name: i for i, (name, _) in enumerate(steps)}
    waits = {name: list(after) for name, after in steps}
    depth: dict[str, int] = {}
    for name, _ in steps:
        stack = [name]
        while stack:  # iterative: a long chain must not hit the recursion limit
            top = stack[-1]
            pending = [d for d in waits[top] if d not in depth]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            depth[top] = 1 + max((depth[d] for d in waits[top]), default=-1)
    out: list[list[str]] = [[] for _ in range(1 + max(depth.values(), default=-1))]
    position: dict[str, int] = {}
    for layer_no, layer in enumerate(out):
        members = sorted((n for n in order if depth[n] == layer_no), key=order.__getitem__)

        def rank(name: str) -> tuple[float, int]:
            before = [position[d] for d in waits[name]]
            return (sum(before) / len(before) if before else -1.0, order[name])

        layer.extend(sorted(members, key=rank) if layer_no else members)
        position.update((n, i) for i, n in enumerate(layer))
    return out
