"""Layers: Linear, Sequential, MLP, activations, Dropout, LayerNorm, Conv2d, pooling, Flatten.

Conventions: ``Linear`` stores its weight as ``(in_features, out_features)`` and
computes ``x @ W + b`` (no transpose in the hot path); images are NCHW and a
convolution kernel is ``(out_channels, in_channels, kh, kw)`` as in PyTorch.
Parameters are float32 unless ``dtype`` says otherwise.

>>> import numpy as np
>>> from chainrule.nn import MLP
>>> model = MLP([4, 16, 3], activation="relu", rng=0)
>>> model(np.zeros((5, 4), np.float32)).shape
(5, 3)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import rules as R
from ..backend import namespace
from ..jit import effect as jit_effect
from ..tracer import concrete
from . import init as initializers
from .module import Module, ShapeError
from .ops import affine, dense, dense_chain, output_size, windows2d


def _pair(value: int | Iterable[int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _dtype_name(dtype: Any) -> str:
    return np.dtype(dtype).name


class Linear(Module):
    """``y = x @ W + b`` with ``W`` of shape ``(in_features, out_features)``.

    >>> layer = Linear(3, 2, rng=0)
    >>> layer(np.ones((4, 3), np.float32)).shape
    (4, 2)
    >>> layer(np.ones((4, 5), np.float32))
    Traceback (most recent call last):
    ...
    chainrule.nn.module.ShapeError: Linear(in_features=3, out_features=2): expected input of shape (..., 3), got (4, 5)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "glorot_uniform",
        rng: initializers.Rng = None,
        dtype: Any = np.float32,
    ) -> None:
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.init, self.param_dtype = init, _dtype_name(dtype)
        generator = initializers.as_rng(rng)
        self.weight = initializers.get(init)((self.in_features, self.out_features), generator, dtype)
        self.bias = np.zeros(self.out_features, dtype=dtype) if bias else None

    def forward(self, x: Any) -> Any:
        self._check_input(x)
        return R.matmul(x, self.weight) if self.bias is None else affine(x, self.weight, self.bias)

    def _check_input(self, x: Any) -> None:
        shape = x.shape
        if not shape or shape[-1] != self.in_features:
            raise ShapeError(f"{self.short_repr()}: expected input of shape (..., {self.in_features}), got {shape}")

    def short_repr(self) -> str:
        return f"Linear(in_features={self.in_features}, out_features={self.out_features})"

    def config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "init": self.init,
            "dtype": self.param_dtype,
        }


class Sequential(Module):
    """Layers applied in order; a wrong shape is reported with the layer's position.

    >>> model = Sequential([Linear(2, 3, rng=0), Tanh(), Linear(3, 1, rng=1)])
    >>> model(np.ones((1, 2), np.float32)).shape
    (1, 1)
    """

    def __init__(self, layers: Iterable[Module]) -> None:
        layers = list(layers)
        for index, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: item {index} is {type(layer).__name__}, not a chainrule.nn Module")
        self.layers = layers

    def forward(self, x: Any) -> Any:
        layers, index = self.layers, 0
        count = len(layers)
        try:
            while index < count:
                layer = layers[index]
                if type(layer) is Linear and layer.bias is not None:
                    x, index = _linear_run(layers, index, x)
                    continue
                x = layer(x)
                index += 1
        except ShapeError as error:
            if str(error).startswith("layer "):
                raise
            raise ShapeError(f"layer {index} of {type(self).__name__}, {error}") from None
        return x

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def config(self) -> dict[str, Any]:
        return {"layers": [layer.describe() for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        from .module import from_description  # noqa: PLC0415  (module imports layers lazily)

        return cls([from_description(item) for item in config["layers"]])

    def extra_repr(self) -> str:
        return ""


# ---------------------------------------------------------------- activations
class _Activation(Module):
    function: Any = None

    def forward(self, x: Any) -> Any:
        return type(self).function(x)

    def extra_repr(self) -> str:
        return ""


class ReLU(_Activation):
    """max(0, x), with derivative 0 at 0."""

    function = R.relu


class Tanh(_Activation):
    """tanh(x)."""

    function = R.tanh


class Sigmoid(_Activation):
    """1 / (1 + e^-x), stable for any x."""

    function = R.sigmoid


_FUSED_ACTIVATIONS = {Tanh: "tanh", Sigmoid: "sigmoid", ReLU: "relu"}  # activations nn.ops.dense has


def _linear_run(layers: list, index: int, x: Any) -> tuple[Any, int]:
    """Apply the run of Linear layers (each with its activation, if nn.ops.dense has it) from ``index`` on.

    Fused, same values: one Linear and its activation is one ``dense`` node; two
    or more in a row (each feeding the next) are one ``dense_chain`` node. Each
    recorded node costs Python time in both passes, so a small MLP's body as one
    node makes its training step quicker. Returns the output and the index after the run.
    """
    first = layer = layers[index]
    count = len(layers)
    params = [layer.weight, layer.bias]
    activations = []
    while True:
        index += 1
        activation = _FUSED_ACTIVATIONS.get(type(layers[index])) if index < count else None
        if activation is not None:
            index += 1
        activations.append(activation)
        if index == count:
            break
        following = layers[index]
        # It joins the run when it takes what the layer before gives: the width its check would test
        if type(following) is not Linear or following.bias is None or following.in_features != layer.weight.shape[-1]:
            break
        layer = following
        params += (layer.weight, layer.bias)
    first._check_input(x)
    if len(activations) > 1:
        return dense_chain(x, *params, activations=tuple(activations)), index
    if activation is None:
        return affine(x, *params), index
    return dense(x, *params, activation=activation), index


class Softplus(_Activation):
    """log(1 + e^x), stable for any x."""

    function = R.softplus


class LeakyReLU(Module):
    """x for x > 0, ``negative_slope * x`` otherwise (derivative ``negative_slope`` at 0)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = float(negative_slope)

    def forward(self, x: Any) -> Any:
        return R.where(concrete(x) > 0, x, R.multiply(x, self.negative_slope))

    def config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}


class GELU(Module):
    """The Gaussian error linear unit, tanh approximation (PyTorch's ``approximate='tanh'``).

    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))); within 1e-3 of x Phi(x).
    """

    def forward(self, x: Any) -> Any:
        inner = R.multiply(R.add(x, R.multiply(R.power(x, 3), 0.044715)), np.sqrt(2.0 / np.pi))
        return R.multiply(R.multiply(x, 0.5), R.add(R.tanh(inner), 1.0))


class Softmax(Module):
    """softmax over ``axis`` (use the logits with ``cross_entropy`` for training: it is fused and stable)."""

    def __init__(self, axis: int = -1) -> None:
        self.axis = int(axis)

    def forward(self, x: Any) -> Any:
        return R.softmax(x, axis=self.axis)

    def config(self) -> dict[str, Any]:
        return {"axis": self.axis}


ACTIVATIONS: dict[str, type] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "gelu": GELU,
    "softplus": Softplus,
}


def activation(name: str) -> Module:
    """An activation layer by name: relu, leaky_relu, tanh, sigmoid, gelu, softplus."""
    cls = ACTIVATIONS.get(name.lower()) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown activation {name!r}; known: {sorted(ACTIVATIONS)}")
    return cls()


class MLP(Sequential):
    """A multilayer perceptron: Linear layers of ``sizes`` with ``activation`` between them.

    ``sizes = [inputs, hidden..., outputs]``; the last layer has no activation (it
    gives logits or regression values). ReLU-family activations get He
    initialisation, the others Glorot. With ``dropout > 0`` a Dropout layer
    follows each hidden activation.

    >>> MLP([64, 128, 10], activation="relu", rng=0).num_parameters()
    9610
    """

    def __init__(
        self,
        sizes: Iterable[int],
        activation: str = "relu",
        dropout: float = 0.0,
        rng: initializers.Rng = None,
        dtype: Any = np.float32,
    ) -> None:
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"MLP: sizes must list at least an input and an output size, all >= 1; got {sizes}")
        make_activation = globals()["activation"]  # the function, shadowed by the argument
        generator = initializers.as_rng(rng)
        init = "he_uniform" if activation.lower() in ("relu", "leaky_relu", "gelu") else "glorot_uniform"
        layers: list[Module] = []
        for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(fan_in, fan_out, init=init, rng=generator, dtype=dtype))
            if index < len(sizes) - 2:
                layers.append(make_activation(activation))
                if dropout > 0:
                    layers.append(Dropout(dropout, rng=generator))
        super().__init__(layers)
        self.sizes, self.activation, self.dropout, self.param_dtype = (
            tuple(sizes),
            activation,
            float(dropout),
            _dtype_name(dtype),
        )

    def config(self) -> dict[str, Any]:
        return {
            "sizes": list(self.sizes),
            "activation": self.activation,
            "dropout": self.dropout,
            "dtype": self.param_dtype,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MLP:
        return cls(**config)

    def extra_repr(self) -> str:
        return f"sizes={list(self.sizes)}, activation={self.activation!r}"


# ---------------------------------------------------------------- regularisation, normalisation
class RandomStream:
    """A layer's own random generator, kept in the model's structure but not part of its identity.

    Two models that differ only in where their dropout masks come from have the
    same pytree structure (so an optimizer state made for one fits the other):
    every RandomStream compares equal to every other.
    """

    __slots__ = ("generator",)

    def __init__(self, generator: np.random.Generator) -> None:
        self.generator = generator

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RandomStream)

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "RandomStream()"


class Dropout(Module):
    """Zeroes each entry with probability ``rate`` in training mode and scales the rest by 1/(1 - rate).

    In evaluation mode (``model.eval()``) it is the identity. Its masks come from
    its own generator, split off ``rng`` (or the default seed) when it is built.

    >>> layer = Dropout(0.5, rng=0)
    >>> x = np.ones((2, 4), np.float32)
    >>> sorted(set(layer(x).ravel().tolist()))
    [0.0, 2.0]
    >>> bool((layer.eval()(x) == x).all())
    True
    """

    def __init__(self, rate: float = 0.5, rng: initializers.Rng = None) -> None:
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.stream = RandomStream(np.random.default_rng(initializers.as_rng(rng).integers(2**63)))

    def forward(self, x: Any) -> Any:
        if not self.training or self.rate == 0.0:
            return x
        value = concrete(x)
        # A fresh draw on every call, also when a jitted training step replays (jit_effect repeats it).
        keep = jit_effect(self.stream.generator.random, value.shape, dtype=np.float64) >= self.rate
        mask = keep.astype(value.dtype) * value.dtype.type(1.0 / (1.0 - self.rate))
        xp = namespace(value)
        return R.multiply(x, mask if xp is np else xp.asarray(mask))  # on the GPU too, for CuPy values

    def config(self) -> dict[str, Any]:
        return {"rate": self.rate}


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims, then scale and shift (learned).

    y = (x - mean) / sqrt(var + eps) * weight + bias, the variance biased (as in PyTorch).
    """

    def __init__(self, normalized_shape: int | Iterable[int], eps: float = 1e-5, dtype: Any = np.float32) -> None:
        shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.param_dtype = shape, float(eps), _dtype_name(dtype)
        self.weight = np.ones(shape, dtype=dtype)
        self.bias = np.zeros(shape, dtype=dtype)

    def forward(self, x: Any) -> Any:
        count = len(self.normalized_shape)
        if tuple(x.shape[x.ndim - count :]) != self.normalized_shape:
            raise ShapeError(
                f"LayerNorm({self.normalized_shape}): expected input of shape (..., "
                f"{', '.join(map(str, self.normalized_shape))}), got {x.shape}"
            )
        axes = tuple(range(x.ndim - count, x.ndim))
        centered = R.subtract(x, R.mean(x, axis=axes, keepdims=True))
        variance = R.mean(R.multiply(centered, centered), axis=axes, keepdims=True)
        normalized = R.divide(centered, R.sqrt(R.add(variance, self.eps)))
        return R.add(R.multiply(normalized, self.weight), self.bias)

    def config(self) -> dict[str, Any]:
        return {"normalized_shape": list(self.normalized_shape), "eps": self.eps, "dtype": self.param_dtype}


# ---------------------------------------------------------------- images (NCHW)
def _check_image(layer: Module, x: Any, channels: int | None) -> None:
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        expected = f"(N, {channels}, H, W)" if channels is not None else "(N, C, H, W)"
        raise ShapeError(f"{layer.short_repr()}: expected input of shape {expected}, got {x.shape}")


class Conv2d(Module):
    """2-D convolution (cross-correlation, as in every framework) over NCHW images.

    Built from ``windows2d`` (im2col) and one ``matmul``: the kernel
    ``(out_channels, in_channels, kh, kw)`` meets every window in a single BLAS call.

    >>> conv = Conv2d(1, 4, 3, padding=1, rng=0)
    >>> conv(np.zeros((2, 1, 8, 8), np.float32)).shape
    (2, 4, 8, 8)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        bias: bool = True,
        init: str = "he_uniform",
        rng: initializers.Rng = None,
        dtype: Any = np.float32,
    ) -> None:
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "Conv2d kernel_size")
        self.stride, self.padding = _pair(stride, "Conv2d stride"), _pair(padding, "Conv2d padding")
        self.init, self.param_dtype = init, _dtype_name(dtype)
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = initializers.get(init)(shape, initializers.as_rng(rng), dtype)
        self.bias = np.zeros(self.out_channels, dtype=dtype) if bias else None

    def forward(self, x: Any) -> Any:
        _check_image(self, x, self.in_channels)
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        out_h, out_w = output_size(h, kh, sh, ph), output_size(w, kw, sw, pw)
        if out_h < 1 or out_w < 1:
            raise ShapeError(f"{self.short_repr()}: input {x.shape} is smaller than the kernel {self.kernel_size}")
        cols = windows2d(x, kernel=self.kernel_size, stride=self.stride, padding=self.padding)
        # (N, C, Ho, Wo, kh, kw) -> (N*Ho*Wo, C*kh*kw): one row per output pixel.
        rows = R.reshape(R.transpose(cols, axes=(0, 2, 3, 1, 4, 5)), shape=(n * out_h * out_w, c * kh * kw))
        kernel = R.transpose(R.reshape(self.weight, shape=(self.out_channels, c * kh * kw)))
        out = R.matmul(rows, kernel) if self.bias is None else affine(rows, kernel, self.bias)
        return R.transpose(R.reshape(out, shape=(n, out_h, out_w, self.out_channels)), axes=(0, 3, 1, 2))

    def short_repr(self) -> str:
        return (
            f"Conv2d({self.in_channels} -> {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding})"
        )

    def config(self) -> dict[str, Any]:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "bias": self.bias is not None,
            "init": self.init,
            "dtype": self.param_dtype,
        }


class _Pool2d(Module):
    fill = 0.0

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        self.kernel_size = _pair(kernel_size, f"{type(self).__name__} kernel_size")
        self.stride = self.kernel_size if stride is None else _pair(stride, f"{type(self).__name__} stride")
        self.padding = _pair(padding, f"{type(self).__name__} padding")
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"{type(self).__name__}: padding {self.padding} must be at most half the kernel size")

    def windows(self, x: Any) -> Any:
        _check_image(self, x, None)
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if output_size(x.shape[2], kh, sh, ph) < 1 or output_size(x.shape[3], kw, sw, pw) < 1:
            raise ShapeError(f"{self.short_repr()}: input {x.shape} is smaller than the window {self.kernel_size}")
        return windows2d(x, kernel=self.kernel_size, stride=self.stride, padding=self.padding, fill=self.fill)

    def short_repr(self) -> str:
        return f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding})"

    def config(self) -> dict[str, Any]:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride), "padding": list(self.padding)}

    def pooled(self, x: Any, reduce: Any) -> Any:
        """``reduce`` over each window. Non-overlapping windows (stride = kernel, no padding) are a
        reshape to (N, C, H_out, kh, W_out, kw), whose backward pass is a reshape too."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        if (kh, kw) != (sh, sw) or (ph, pw) != (0, 0) or x.ndim != 4:
            return reduce(self.windows(x), axis=(4, 5))
        n, c, h, w = x.shape
        out_h, out_w = h // kh, w // kw
        if out_h < 1 or out_w < 1:
            raise ShapeError(f"{self.short_repr()}: input {x.shape} is smaller than the window {self.kernel_size}")
        if (h, w) != (out_h * kh, out_w * kw):  # the last partial window is dropped, as in PyTorch
            x = x[:, :, : out_h * kh, : out_w * kw]
        return reduce(R.reshape(x, shape=(n, c, out_h, kh, out_w, kw)), axis=(3, 5))


class MaxPool2d(_Pool2d):
    """The maximum of each window (padding never wins: it is -inf). Ties share the gradient."""

    fill = -np.inf

    def forward(self, x: Any) -> Any:
        return self.pooled(x, R.max)


class AvgPool2d(_Pool2d):
    """The mean of each window (zero padding counts, as PyTorch's default)."""

    def forward(self, x: Any) -> Any:
        return self.pooled(x, R.mean)


class Flatten(Module):
    """``(N, ...) -> (N, prod(...))``."""

    def forward(self, x: Any) -> Any:
        return R.reshape(x, shape=(x.shape[0], -1))

    def extra_repr(self) -> str:
        return ""
