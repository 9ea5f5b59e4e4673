r"""The rule table's LaTeX, made fit for the terminal and for matplotlib.

The rules in ``chainrule.rules`` write their formulas in ordinary LaTeX. Two
places cannot take all of it: a terminal (plain text) and matplotlib's
mathtext, which knows no ``\tfrac``, ``\lnot``, ``\le`` and no brace-less
``\frac12``. :func:`to_mathtext` rewrites those; :func:`to_plain` turns a
formula into readable text.

>>> to_plain(r"\frac{d}{dx}\sigma(x) = \sigma(x)\,(1 - \sigma(x))")
'd/dx σ(x) = σ(x) (1 - σ(x))'
>>> to_mathtext(r"[x>y] + \tfrac12[x=y]")
'[x>y] + \\frac{1}{2}[x=y]'
"""

from __future__ import annotations

import functools
import re

# mathtext lacks these commands; each has an equivalent it knows ("" drops a sizing command).
_MATHTEXT_REPLACEMENTS = {
    r"\tfrac": r"\frac",
    r"\dfrac": r"\frac",
    r"\lnot": r"\neg",
    r"\le": r"\leq",
    r"\ge": r"\geq",
    r"\bmod": r"\ \mathrm{mod}\ ",
    r"\lvert": "|",
    r"\rvert": "|",
    r"\lVert": r"\Vert",
    r"\rVert": r"\Vert",
    **{rf"\{size}{side}": "" for size in ("big", "Big", "bigg", "Bigg") for side in ("", "l", "r", "m")},
}

_SYMBOLS = {
    "sigma": "σ", "delta": "δ", "partial": "∂", "sum": "Σ", "prod": "Π", "cdot": "·", "times": "×",
    "top": "ᵀ", "ne": "≠", "neq": "≠", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "lnot": "¬",
    "neg": "¬", "ldots": "...", "cdots": "...", "nabla": "∇", "infty": "∞", "pi": "π", "alpha": "α",
    "beta": "β", "theta": "θ", "lambda": "λ", "mu": "μ", "eta": "η", "epsilon": "ε", "to": "→",
    "quad": "   ", "qquad": "    ", ",": " ", ";": " ", ":": " ", " ": " ", "!": "", "#": "#",
    "{": "{", "}": "}", "%": "%", "left": "", "right": "", "big": "", "Big": "", "bigl": "", "bigr": "",
    "Bigl": "", "Bigr": "", "bigg": "", "Bigg": "", "|": "‖", "Vert": "‖", "lvert": "|", "rvert": "|",
    "lfloor": "⌊", "rfloor": "⌋", "lceil": "⌈", "rceil": "⌉", "circ": "∘", "odot": "⊙", "otimes": "⊗",
    "bmod": " mod ", "Omega": "Ω", "Phi": "Φ", "phi": "φ", "psi": "ψ", "gamma": "γ", "Gamma": "Γ", "rho": "ρ",
    "tau": "τ", "kappa": "κ", "xi": "ξ", "omega": "ω", "pm": "±", "approx": "≈", "in": "∈", "mid": "|",
}  # fmt: skip
_NAMED_FUNCTIONS = {"ln", "log", "exp", "sin", "cos", "tan", "tanh", "sinh", "cosh", "arcsin", "arccos", "arctan",
                    "max", "min", "det", "arg", "sup", "inf", "lim"}  # fmt: skip
_WRAPPERS = {"text", "mathrm", "operatorname", "mathbf", "mathit", "boldsymbol", "mathbb", "mathcal", "bar", "hat",
             "tilde", "overline", "vec"}  # fmt: skip


def _expand_short_fracs(latex: str) -> str:
    r"""``\frac12`` -> ``\frac{1}{2}`` (one-character arguments need no braces in LaTeX)."""
    return re.sub(r"\\frac\s*([^\s{\\])\s*([^\s{\\])", r"\\frac{\1}{\2}", latex)


def renders(text: str) -> bool:
    """True when matplotlib's mathtext can draw ``text`` (a ``$...$`` string); cached."""
    return _renders(text)


@functools.lru_cache(maxsize=512)
def _renders(text: str) -> bool:
    from matplotlib.mathtext import MathTextParser  # noqa: PLC0415

    try:
        MathTextParser("path").parse(text)
    except Exception:  # noqa: BLE001  (any parse failure means: use the plain text)
        return False
    return True


def to_mathtext(latex: str) -> str:
    """A LaTeX formula rewritten with only what matplotlib's mathtext understands."""
    for command, replacement in _MATHTEXT_REPLACEMENTS.items():
        latex = re.sub(re.escape(command) + r"(?![A-Za-z])", lambda _m, r=replacement: r, latex)
    return _expand_short_fracs(latex)


def _read_group(latex: str, start: int) -> tuple[str, int]:
    """The argument at ``start``: a {braced group} or one character; returns (text, end)."""
    while start < len(latex) and latex[start] == " ":
        start += 1
    if start >= len(latex):
        return "", start
    if latex[start] != "{":
        if latex[start] == "\\":
            match = re.match(r"\\([A-Za-z]+|.)", latex[start:])
            assert match is not None
            return match.group(0), start + len(match.group(0))
        return latex[start], start + 1
    depth, i = 0, start
    while i < len(latex):
        if latex[i] == "\\":
            i += 2
            continue
        if latex[i] == "{":
            depth += 1
        elif latex[i] == "}":
            depth -= 1
            if depth == 0:
                return latex[start + 1 : i], i + 1
        i += 1
    return latex[start + 1 :], len(latex)


def _atom(text: str) -> bool:
    """True for a fraction part that needs no parentheses: 1, n, dx, ∂x_i, ∂x_(ij)."""
    return bool(re.fullmatch(r"∂?\w{1,3}(_\w|_\(\w+\))?|∂", text))


def to_plain(latex: str) -> str:
    """A LaTeX formula as readable plain text (Unicode symbols, a/b for fractions)."""
    out: list[str] = []
    i, n = 0, len(latex)
    while i < n:
        char = latex[i]
        if char == "\\":
            match = re.match(r"\\([A-Za-z]+|.)", latex[i:])
            command = match.group(1) if match else ""
            i += len(command) + 1
            if command in ("frac", "tfrac", "dfrac"):
                numerator, i = _read_group(latex, i)
                denominator, i = _read_group(latex, i)
                top, bottom = to_plain(numerator), to_plain(denominator)
                top = top if _atom(top) else f"({top})"
                bottom = bottom if _atom(bottom) else f"({bottom})"
                out.append(f"{top}/{bottom} ")
            elif command == "sqrt":
                inner, i = _read_group(latex, i)
                out.append(f"√({to_plain(inner)})")
            elif command in _WRAPPERS:
                inner, i = _read_group(latex, i)
                out.append(to_plain(inner))
            elif command in _SYMBOLS:
                out.append(_SYMBOLS[command])
            elif command in _NAMED_FUNCTIONS:
                out.append(command)
            else:
                out.append(command)
        elif char in "^_":
            group, i = _read_group(latex, i + 1)
            text = to_plain(group)
            out.append(char + (text if len(text) <= 1 or text == "ᵀ" else f"({text})"))
        elif char in "{}":
            i += 1
        else:
            out.append(char)
            i += 1
    text = re.sub(r"∂ (?=\w)", "∂", "".join(out).replace("^ᵀ", "ᵀ"))
    text = re.sub(r"(?<=\S) (?=[)\],])", "", text)  # "d/dx )" -> "d/dx)"
    return re.sub(r"[ ]{2,}", lambda m: " " if len(m.group(0)) < 3 else "   ", text).strip()
