"""Ready-made models: a small CNN for 8x8-ish images.

>>> import numpy as np
>>> model = small_cnn(in_channels=1, image_size=(8, 8), num_classes=10, rng=0)
>>> model(np.zeros((3, 1, 8, 8), np.float32)).shape
(3, 10)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import init as initializers
from .layers import Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential


def small_cnn(
    in_channels: int,
    image_size: tuple[int, int],
    num_classes: int,
    channels: Sequence[int] = (16, 32),
    dropout: float = 0.0,
    rng: initializers.Rng = None,
    dtype: Any = np.float32,
) -> Sequential:
    """[Conv 3x3 (same padding) -> ReLU -> MaxPool 2x2] per entry of ``channels``, then Flatten -> Linear.

    With ``dropout > 0`` a Dropout layer comes before the final Linear.

    Each block halves the image; on digits (8x8) two blocks leave 2x2 maps.
    """
    generator = initializers.as_rng(rng)
    layers: list[Any] = []
    height, width = image_size
    previous = in_channels
    for count in channels:
        if height < 2 or width < 2:
            raise ValueError(f"small_cnn: a {image_size} image is too small for {len(channels)} pooling blocks")
        layers += [Conv2d(previous, count, 3, padding=1, rng=generator, dtype=dtype), ReLU(), MaxPool2d(2)]
        previous, height, width = count, height // 2, width // 2
    layers.append(Flatten())
    if dropout > 0:
        layers.append(Dropout(dropout, rng=generator))
    layers += [Linear(previous * height * width, num_classes, rng=generator, dtype=dtype)]
    return Sequential(layers)
