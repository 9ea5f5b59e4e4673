"""Backpropagation with its work shown: the engine's own backward pass, recorded.

:func:`backprop` runs a function under chainrule's reverse-mode tracer, then runs
the ordinary backward pass with an observer (``reverse.backpropagate(...,
observer=...)``) that sees every application of a rule: the node, the gradient
arriving from above, the local derivative, their product sent to each input, and
the sum over broadcast axes when an input was broadcast. Nothing is recomputed
by a second method: the gradients listed are the engine's gradients.

>>> import numpy as np
>>> from chainrule import rules as R
>>> trace = backprop(lambda w, x: R.sigmoid(w * x), 2.0, 0.5)
>>> [entry.op for entry in trace.backward]
['sigmoid', 'multiply']
>>> round(float(trace.gradients["w"]), 6)       # x sigma(wx)(1 - sigma(wx))
0.098306
>>> print(trace.text().splitlines()[0])
Forward pass (2 operations):
"""

from __future__ import annotations

import html
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..registry import Primitive
from ..reverse import Node, ReverseBox, ReverseTrace, backpropagate
from ..tracer import concrete, new_level
from ..tree import TreeDef, tree_flatten, tree_unflatten
from .notation import to_plain

# Rules whose Jacobian is diagonal (after broadcasting): their local derivative
# is an array of the output's shape, computed by the rule's own VJP with g = 1.
ELEMENTWISE = frozenset(
    "add subtract multiply divide power maximum minimum negative exp log log1p expm1 sqrt sin cos tan tanh "
    "sigmoid softplus relu absolute where clip astype real".split()
)
_JACOBIAN_LIMIT = 36  # show a full local Jacobian only when it has at most this many entries


@dataclass
class ForwardEntry:
    """One value of the forward pass: an input, or one primitive applied to earlier values."""

    name: str
    op: str  # the primitive's name, or "input"
    inputs: list[str]  # names of traced inputs, or short descriptions of constants
    params: dict[str, Any]
    value: Any
    rule_latex: str = ""


@dataclass
class Contribution:
    """One rule application: what node ``node`` sends back to its input ``to``."""

    to: str
    argnum: int
    input_shape: tuple[int, ...]
    local: Any  # the local derivative (array), or None when only a VJP is practical
    local_description: str
    elementwise: bool  # True: sent = upstream * local entry by entry; False: a vector-Jacobian product
    raw: Any  # upstream (x) local, before broadcasting is undone
    sent: Any  # what the input receives
    reduction: str  # "" or how broadcasting was summed out


@dataclass
class BackwardEntry:
    """Everything the backward pass did at one node."""

    name: str
    op: str
    rule_latex: str
    output_shape: tuple[int, ...]
    upstream: Any
    upstream_from: list[str]
    contributions: list[Contribution] = field(default_factory=list)

    @property
    def rule_text(self) -> str:
        return to_plain(self.rule_latex) if self.rule_latex else ""


@dataclass
class BackpropTrace:
    """The forward values, the backward pass node by node, and the gradients."""

    value: Any
    inputs: list[str]
    forward: list[ForwardEntry]
    backward: list[BackwardEntry]
    gradients: dict[str, Any]
    gradient_tree: Any = field(repr=False, default=None)  # the gradients shaped like the argument (a tuple if several)

    # ---- plain text
    def text(self, width: int = 100) -> str:
        """The whole trace as plain text for a terminal."""
        lines = [f"Forward pass ({sum(e.op != 'input' for e in self.forward)} operations):"]
        for entry in self.forward:
            if entry.op == "input":
                lines.append(f"  {entry.name:<6} = {format_value(entry.value)}   (input, shape {_shape(entry.value)})")
            else:
                lines.append(
                    f"  {entry.name:<6} = {entry.op}({', '.join(entry.inputs)}{_params(entry.params)})"
                    f" = {format_value(entry.value)}"
                )
        lines.append("")
        lines.append("Backward pass, node by node in reverse order (the chain rule):")
        for entry in self.backward:
            lines.append(f"  {entry.name} = {entry.op}   output shape {entry.output_shape}")
            if entry.rule_text:
                lines.append(f"    rule:      {_clip(entry.rule_text, width - 15)}")
            source = "seed: d out/d out = 1" if not entry.upstream_from else "from " + " + ".join(entry.upstream_from)
            lines.append(f"    upstream:  {format_value(entry.upstream)}   ({source})")
            for part in entry.contributions:
                lines.append(f"    -> {part.to} (input {part.argnum}, shape {part.input_shape})")
                lines.append(f"       local derivative: {part.local_description}")
                product = "upstream x local" if part.elementwise else "upstream . Jacobian (VJP)"
                lines.append(f"       {product}: {format_value(part.raw)}")
                if part.reduction:
                    lines.append(f"       {part.reduction}")
                lines.append(f"       sent to {part.to}: {format_value(part.sent)}")
        lines.append("")
        lines.append("Gradients:")
        for name, g in self.gradients.items():
            lines.append(f"  d out / d {name} = {format_value(g)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    # ---- rows (shared by the HTML, rich and PDF renderings)
    def rows(self) -> list[dict[str, str]]:
        """One row per rule application, in the order the backward pass made them."""
        rows = []
        for entry in self.backward:
            source = "seed (1)" if not entry.upstream_from else " + ".join(entry.upstream_from)
            for part in entry.contributions:
                rows.append({
                    "node": entry.name, "op": entry.op, "rule": entry.rule_text, "rule_latex": entry.rule_latex,
                    "shapes": f"{entry.output_shape} -> {part.to} {part.input_shape}",
                    "upstream": f"{format_value(entry.upstream)} (from {source})",
                    "local": part.local_description, "sent": f"{part.to} += {format_value(part.sent)}",
                    "broadcast": part.reduction,
                })  # fmt: skip
        return rows

    def _repr_html_(self) -> str:
        header = ["node", "operation", "rule", "shapes", "upstream", "local derivative", "sent to input", "broadcast"]
        keys = ["node", "op", "rule_latex", "shapes", "upstream", "local", "sent", "broadcast"]
        body = []
        for row in self.rows():
            cells = []
            for key in keys:
                text = html.escape(row[key])
                cells.append(f"<td>${text}$</td>" if key == "rule_latex" and text else f"<td><code>{text}</code></td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        forward = "".join(
            f"<tr><td><code>{html.escape(e.name)}</code></td><td>{html.escape(e.op)}</td>"
            f"<td><code>{html.escape(', '.join(e.inputs))}</code></td>"
            f"<td><code>{html.escape(format_value(e.value))}</code></td></tr>"
            for e in self.forward
        )
        gradients = "".join(
            f"<li><code>d out / d {html.escape(k)} = {html.escape(format_value(v))}</code></li>"
            for k, v in self.gradients.items()
        )
        return (
            "<h4>Forward pass</h4><table><tr><th>value</th><th>operation</th><th>inputs</th><th>result</th></tr>"
            f"{forward}</table><h4>Backward pass (reverse order)</h4><table><tr>"
            + "".join(f"<th>{h}</th>" for h in header)
            + "</tr>"
            + "".join(body)
            + f"</table><h4>Gradients</h4><ul>{gradients}</ul>"
        )

    def rich_table(self) -> Any:
        """The backward pass as a ``rich.table.Table`` (needs ``pip install chainrule[rich]``)."""
        from rich.table import Table  # noqa: PLC0415

        table = Table(title="Backward pass, node by node in reverse order", show_lines=True)
        for column in ("node", "operation / rule", "shapes", "upstream", "local derivative", "sent to input"):
            table.add_column(column, overflow="fold")
        for row in self.rows():
            sent = row["sent"] + (f"\n{row['broadcast']}" if row["broadcast"] else "")
            table.add_row(row["node"], f"{row['op']}\n{row['rule']}", row["shapes"], row["upstream"], row["local"],
                          sent)  # fmt: skip
        return table


# ---------------------------------------------------------------- formatting
def format_value(value: Any, precision: int = 4) -> str:
    """A short, one-line rendering of a scalar or array."""
    array = np.asarray(concrete(value))
    if array.dtype.kind == "f":
        array = array + 0.0  # no "-0." in the tables
    if array.ndim == 0:
        return f"{array.item():.{precision}g}" if array.dtype.kind in "fc" else str(array.item())
    text = np.array2string(array, precision=precision, threshold=8, edgeitems=2, max_line_width=10_000,
                           separator=", ", suppress_small=True)  # fmt: skip
    return " ".join(text.split())


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(np.shape(concrete(value)))


def _params(params: dict[str, Any]) -> str:
    shown = {k: v for k, v in params.items() if v is not None and not (k == "keepdims" and v is False)}
    return "".join(f", {k}={v!r}" for k, v in shown.items())


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _describe_constant(value: Any) -> str:
    if isinstance(value, (int, float, np.number)) or np.ndim(value) == 0:
        return format_value(value)
    return f"const{list(np.shape(value))}"


# ---------------------------------------------------------------- names
def _leaf_paths(treedef: TreeDef, prefix: str) -> list[str]:
    if treedef.kind is None:
        return [prefix]
    if treedef.kind is type(None):
        return []
    paths = []
    for i, child in enumerate(treedef.children):
        if isinstance(treedef.meta, tuple) and i < len(treedef.meta):
            key = treedef.meta[i]
            step = f"[{key!r}]" if isinstance(treedef.kind, type) and issubclass(treedef.kind, dict) else f".{key}"
        else:
            step = f"[{i}]"
        paths.extend(_leaf_paths(child, prefix + step))
    return paths


def _argument_names(fun: Callable[..., Any], count: int) -> list[str]:
    try:
        parameters = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [names[i] if i < len(names) else f"arg{i}" for i in range(count)]


# ---------------------------------------------------------------- the trace
def _local_derivative(prim: Primitive, node: Node, argnum: int, names: tuple[str, str]) -> tuple[Any, str, bool]:
    """The local derivative of ``node``'s output with respect to input ``argnum``.

    Returns (array or None, description, elementwise). For an elementwise rule
    it is an array of the output's shape, computed by the rule's own VJP with
    g = 1; for a small vector map, its full Jacobian; otherwise None (the rule's
    VJP applies the Jacobian without forming it).
    """
    args, kwargs, out = node.args, node.kwargs, node.out
    label = f"∂{names[0]}/∂{names[1]}"
    if prim.name in ELEMENTWISE:
        local = np.asarray(prim.vjps[argnum](np.ones_like(out), out, *args, **kwargs))
        return local, f"{label} = {format_value(local)}", True
    x = args[argnum]
    out_size, in_size = int(np.size(out)), int(np.size(x))
    if np.ndim(out) <= 1 and np.ndim(x) <= 1 and out_size * in_size <= _JACOBIAN_LIMIT:
        from ..transforms import jacobian  # noqa: PLC0415

        def only_this_input(value: Any) -> Any:
            replaced = list(args)
            replaced[argnum] = value
            return prim(*replaced, **kwargs)

        local = np.asarray(jacobian(only_this_input)(np.asarray(x, dtype=np.result_type(x, np.float64))))
        return local, f"{label} = Jacobian {local.shape} = {format_value(local)}", False
    return (
        None,
        (
            f"{label}: a Jacobian of shape {np.shape(out)} x {np.shape(x)}, applied by the rule's "
            f"vector-Jacobian product without forming it"
        ),
        False,
    )


def _reduction(raw: Any, sent: Any, name: str) -> str:
    raw_shape, sent_shape = np.shape(raw), np.shape(sent)
    notes = []
    if raw_shape != sent_shape:
        extra = len(raw_shape) - len(sent_shape)
        axes = list(range(extra)) + [
            extra + i
            for i, d in enumerate(sent_shape)
            if d == 1 and extra + i < len(raw_shape) and raw_shape[extra + i] != 1
        ]
        notes.append(
            f"broadcasting undone: summed over axes {tuple(axes)}, shape {raw_shape} -> {sent_shape} "
            f"({name} was broadcast in the forward pass)"
        )
    raw_dtype, sent_dtype = getattr(raw, "dtype", None), getattr(sent, "dtype", None)
    if raw_dtype is not None and sent_dtype is not None and raw_dtype != sent_dtype:
        notes.append(f"cast {raw_dtype} -> {sent_dtype} to match {name}")
    return "; ".join(notes)


def backprop(fun: Callable[..., Any], *args: Any, seed: Any = None, names: list[str] | None = None) -> BackpropTrace:
    """Run ``fun(*args)`` and its backward pass, recording what the chain rule does.

    ``args`` may be arrays, numbers or pytrees of them (a dict of weights); the
    inputs are named after ``fun``'s parameters (or ``names``) and pytree keys.
    The output must be a scalar unless ``seed`` (the cotangent to start from,
    of the output's shape) is given.
    """
    from ..transforms import as_differentiable  # noqa: PLC0415  (the transforms' own input check)

    if not args:
        raise ValueError("backprop: give the function's arguments, e.g. backprop(f, 0.5)")
    arg_names = list(names) if names is not None else _argument_names(fun, len(args))
    if len(arg_names) != len(args):
        raise ValueError(f"backprop: {len(arg_names)} names for {len(args)} arguments")
    leaves, treedef = tree_flatten(tuple(args))
    leaf_names: list[str] = []
    for name, child in zip(arg_names, treedef.children):
        leaf_names.extend(_leaf_paths(child, name))
    values = [as_differentiable(x, f"backprop: input {n}") for x, n in zip(leaves, leaf_names)]

    trace = ReverseTrace(new_level())
    boxes = [trace.new_input(v) for v in values]
    out = fun(*tree_unflatten(treedef, boxes))
    if not (isinstance(out, ReverseBox) and out._trace is trace):
        raise ValueError("backprop: the function's output does not depend on its inputs (or is not an array)")
    out_value = out.value
    if seed is None:
        if np.size(out_value) != 1:
            raise ValueError(
                f"backprop: the output has shape {np.shape(out_value)}; backpropagation starts from a scalar. "
                f"Reduce it (e.g. .sum()) or pass seed= (the output's cotangent, of shape {np.shape(out_value)})"
            )
        seed = np.ones_like(out_value)
    else:
        seed = np.asarray(seed, dtype=out_value.dtype)
        if seed.shape != np.shape(out_value):
            raise ValueError(f"backprop: seed of shape {seed.shape} for an output of shape {np.shape(out_value)}")

    node_names: dict[int, str] = {box.order: name for box, name in zip(boxes, leaf_names)}  # by node order
    forward = _forward_entries(out, node_names)
    backward: list[BackwardEntry] = []
    sources: dict[int, list[str]] = {}

    def observe(node: Node, argnum: int, upstream: Any, raw: Any, sent: Any) -> None:
        name = node_names[node.order]
        if not backward or backward[-1].name != name:
            backward.append(BackwardEntry(name, node.prim.name, node.prim.latex, _shape(node.out),
                                          np.asarray(concrete(upstream)), sources.get(node.order, [])))  # fmt: skip
        parent = node.traced_inputs()[argnum]
        local, description, elementwise = _local_derivative(node.prim, node, argnum, (name, node_names[parent.order]))
        sources.setdefault(parent.order, []).append(name)
        backward[-1].contributions.append(Contribution(
            node_names[parent.order], argnum, _shape(node.args[argnum]), local, description, elementwise,
            np.asarray(concrete(raw)), np.asarray(concrete(sent)), _reduction(raw, sent, node_names[parent.order]),
        ))  # fmt: skip

    gradients_by_node = backpropagate([(out, seed)], observer=observe)
    gradients = {}
    for box, name, value in zip(boxes, leaf_names, values):
        g = gradients_by_node.get(box.order)
        gradients[name] = np.zeros_like(value) if g is None else np.asarray(concrete(g))
    gradient_tree = tree_unflatten(treedef, list(gradients.values()))
    if len(args) == 1:  # like grad(f): the gradient has the structure of the one argument
        gradient_tree = gradient_tree[0]
    return BackpropTrace(out_value, leaf_names, forward, backward, gradients, gradient_tree)


def _forward_entries(output: Node, node_names: dict[int, str]) -> list[ForwardEntry]:
    """Every node the output depends on, in the order they were computed, named v1, v2, ..."""
    seen: dict[int, Node] = {}  # by order: nodes (boxes) are not hashable
    stack = [output]
    while stack:
        node = stack.pop()
        if node.order in seen:
            continue
        seen[node.order] = node
        stack.extend(node.parents)
    ordered = [seen[order] for order in sorted(seen)]
    entries = []
    counter = 0
    for node in ordered:
        if node.prim is None:
            name = node_names.setdefault(node.order, f"input{len(entries)}")
            entries.append(ForwardEntry(name, "input", [], {}, np.asarray(node.out)))
            continue
        counter += 1
        node_names[node.order] = f"v{counter}"
        traced = {argnum: parent.order for argnum, parent in node.traced_inputs().items()}
        inputs = [node_names[traced[i]] if i in traced else _describe_constant(a) for i, a in enumerate(node.args)]
        entries.append(ForwardEntry(node_names[node.order], node.prim.name, inputs, dict(node.kwargs), node.out,
                                    node.prim.latex))  # fmt: skip
    return entries
