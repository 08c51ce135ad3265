"""Image thumbnails for the report: small enough for a JSON record, drawn as inline PNG.

A record keeps each image as at most 28x28 grayscale bytes in base64 (about 1 KB); the
HTML turns them into ``data:image/png`` URIs with a PNG encoder of its own (zlib and a
CRC, no imaging library), so the page loads nothing from anywhere.
"""

from __future__ import annotations

import base64
import struct
import sys
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

SIDE = 28  # the longest side of a thumbnail, in pixels
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def is_image(x: Any) -> bool:
    """True for an image input: a tensor or array of at least two dimensions."""
    torch = sys.modules.get("torch")  # x cannot be a tensor before torch is loaded: no need to load it
    tensor = torch is not None and isinstance(x, torch.Tensor)
    return (tensor or isinstance(x, np.ndarray)) and np.ndim(x) >= 2


def thumbnail(x: torch.Tensor | np.ndarray, role: str, label: str) -> dict[str, Any]:
    """A JSON-ready thumbnail of an image input.

    Args:
        x: the image, ``(h, w)`` or ``(c, h, w)``; channels are averaged, the longest side
            is area-resized to at most ``SIDE`` pixels. Values in [0, 1] keep their
            brightness (so a noised copy looks as noisy as it is); others are min-max scaled.
        role: what the image is in the sentence (``stimulus``, ``probe``, ``noised copy``).
        label: its caption.

    Returns:
        ``{"role", "label", "shape": [h, w], "pixels": base64 of h*w uint8}``.

    """
    import torch
    import torch.nn.functional as F

    image = torch.as_tensor(np.asarray(x, dtype=np.float32) if isinstance(x, np.ndarray) else x.detach().float().cpu())
    if image.ndim == 3:
        image = image.mean(dim=0)
    height, width = image.shape[-2:]
    scale = SIDE / max(height, width)
    if scale < 1:
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        image = F.interpolate(image[None, None], size=size, mode="area")[0, 0]
    low, high = float(image.min()), float(image.max())
    if low < 0 or high > 1:
        image = (image - low) / (high - low) if high > low else torch.zeros_like(image)
    pixels = (image.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    return {
        "role": role,
        "label": label,
        "shape": [int(pixels.shape[0]), int(pixels.shape[1])],
        "pixels": base64.b64encode(pixels.tobytes()).decode("ascii"),
    }


def pixels_of(thumb: dict[str, Any]) -> np.ndarray:
    """The thumbnail's pixels, ``(h, w)`` uint8."""
    height, width = thumb["shape"]
    return np.frombuffer(base64.b64decode(thumb["pixels"]), dtype=np.uint8).reshape(height, width)


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png_bytes(pixels: np.ndarray) -> bytes:
    """A PNG file of 8-bit grayscale ``(h, w)`` or RGB ``(h, w, 3)`` pixels."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    color_type = 0 if pixels.ndim == 2 else 2
    rows = b"".join(b"\x00" + pixels[r].tobytes() for r in range(height))  # filter type 0 on every row
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")


def png_data_uri(thumb: dict[str, Any]) -> str:
    """The thumbnail as a ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(pixels_of(thumb))).decode("ascii")
