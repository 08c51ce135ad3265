"""Image-classifier tasks, drawn from a packaged data set by the bank's own draws.

The images a task uses are a pure function of (bank version, seed, data set): nothing
about the model decides them, so a fine-tuned checkpoint is measured on exactly the
images its base was. Images the model has memorized are not skipped here; the metric
counts them as unmeasured (their self-influence is float noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from eifbench.bank import IMAGE_BANK_VERSION
from eifbench.bank.datasets import DATASETS, ImageSplit
from eifbench.bank.draws import Draws
from eifbench.catalog import DEFAULT_ITEMS  # a task of the default size reads every broad probe and the whole pool
from eifbench.errors import InputError
from eifbench.stimuli import Example
from eifbench.tasks import layouts
from eifbench.tasks.base import Run, Task, TaskSpec, one_hot_mask, sensitivity_run

if TYPE_CHECKING:
    import torch

BROAD = 128  # broad probe images for sparseness (at the full 36 items; see ``in_proportion``)
SPILL = 64  # real images the pure-noise spill is read on (likewise)
CLUSTERS_PER_CLASS, CLUSTER_SIZE = 2, 4  # transitivity pool: per class, 2 seeds and their 3 nearest neighbours
NEIGHBOURS = 2  # probes per distance level
NOISE_SIGMAS = (0.05, 0.1, 0.15)  # sigma 0.2 moves an image as far as its nearest same-class neighbour
NOISE_KINDS = ("uniform", "gaussian", "salt-and-pepper", "blobs")


def in_proportion(count: int, spec: TaskSpec, least: int = 2) -> int:
    """``count`` for a full task (36 items or more), its share of it for a smaller one (``--limit``).

    Every broad probe is fine-tuned on once for its sensitivity, so a smoke run of 4 items
    reads 15 broad probes, not 128, and costs about its share of a full run.
    """
    return max(least, math.ceil(count * min(1.0, spec.items / DEFAULT_ITEMS)))


def _draws(spec: TaskSpec, purpose: str) -> Draws:
    return Draws("eifbench-bank", IMAGE_BANK_VERSION, spec.seed, spec.dataset or "fashion-mnist", purpose)


@dataclass(frozen=True)
class Images:
    """A packaged data set and the shape the model takes: images are fitted as they are picked."""

    split: ImageSplit
    shape: tuple[int, ...] | None

    @property
    def labels(self) -> torch.Tensor:
        """Labels of the whole data set; (n,)."""
        return self.split.labels

    @property
    def pixels(self) -> torch.Tensor:
        """The packaged images, unfitted, (n, 1, 28, 28): pixel distances are taken here."""
        return self.split.images


def dataset(spec: TaskSpec) -> Images:
    """The packaged images of the spec's data set, to be fitted to the model's input shape."""
    name = spec.dataset or "fashion-mnist"
    if name not in DATASETS:
        raise InputError(f"Unknown image data set {name!r}; known: {', '.join(DATASETS)}.")
    return Images(DATASETS[name](), spec.input_shape)


def fit_images(images: torch.Tensor, shape: tuple[int, ...] | None) -> torch.Tensor:
    """Resize (bilinear) and repeat channels so (n, 1, 28, 28) images fit ``shape`` (c, h, w)."""
    import torch.nn.functional as F

    if shape is None or tuple(images.shape[1:]) == tuple(shape):
        return images
    if len(shape) != 3:
        raise InputError(f"image models take (channels, height, width) inputs; this one takes {shape}.")
    channels, height, width = shape
    resized = F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False)
    return resized.repeat(1, channels, 1, 1) if channels != images.shape[1] else resized


def order(spec: TaskSpec, split: Images, purpose: str) -> list[int]:
    """A seeded permutation of the data set's indices for one task."""
    return _draws(spec, purpose).shuffled(range(len(split.labels)))


def examples(split: Images, index: list[int] | np.ndarray) -> tuple[Example, ...]:
    """Examples for data-set indices, fitted to the model's input shape."""
    chosen = [int(i) for i in index]
    if not chosen:
        return ()
    fitted = fit_images(split.pixels[chosen], split.shape)
    return tuple(Example(fitted[k], int(split.labels[i])) for k, i in enumerate(chosen))


def pixel_noise(image: torch.Tensor, sigma: float, draws: Draws) -> torch.Tensor:
    """``image`` plus Gaussian noise of std ``sigma`` from the bank's draws, clipped to [0, 1]."""
    import torch

    noise = torch.from_numpy(draws.normal_array(image.numel()).astype(np.float32)).reshape(image.shape)
    return (image + sigma * noise).clamp(0.0, 1.0)


def noise_image(kind: str, shape: tuple[int, ...], draws: Draws) -> torch.Tensor:
    """A pure-noise image of one of several kinds, in [0, 1]."""
    import torch
    import torch.nn.functional as F

    count = int(np.prod(shape))
    if kind == "uniform":
        values = draws.uniform_array(count)
    elif kind == "gaussian":
        values = np.clip(0.5 + 0.25 * draws.normal_array(count), 0.0, 1.0)
    elif kind == "salt-and-pepper":
        values = (draws.uniform_array(count) < 0.15).astype(np.float64)
    else:  # smooth blobs: a coarse random grid, upsampled
        coarse = torch.from_numpy(draws.uniform_array(7 * 7).astype(np.float32)).reshape(1, 1, 7, 7)
        return F.interpolate(coarse, size=shape[-2:], mode="bilinear", align_corners=False)[0].expand(shape).clone()
    return torch.from_numpy(values.astype(np.float32)).reshape(shape)


def distance(spec: TaskSpec) -> Task[layouts.DistanceLayout]:
    """Per image: the 2 nearest, 2 middle and 2 farthest images of its class in pixel space."""
    import torch

    split = dataset(spec)
    shuffled = order(spec, split, "distance")
    stimuli, candidates = shuffled[: spec.items], np.array(shuffled[spec.items : spec.items + 600])
    flat = split.pixels.flatten(1)
    probe_index: dict[int, int] = {int(s): i for i, s in enumerate(stimuli)}
    chosen: list[list[tuple[int, int]]] = []
    for s in stimuli:
        same = candidates[split.labels[candidates].numpy() == int(split.labels[s])]
        by_distance = same[np.argsort(torch.cdist(flat[s][None], flat[same]).numpy()[0], kind="stable")]
        middle = len(by_distance) // 2
        graded = [
            (layouts.NEAR, by_distance[:NEIGHBOURS]),
            (layouts.RELATED, by_distance[middle : middle + NEIGHBOURS]),
        ]
        graded.append((layouts.FAR, by_distance[-NEIGHBOURS:]))
        chosen.append([(level, int(j)) for level, picks in graded for j in picks])
        for _, j in chosen[-1]:
            probe_index.setdefault(j, len(probe_index))
    columns = list(probe_index)
    levels = np.full((len(stimuli), len(columns)), layouts.UNUSED, dtype=np.int64)
    mask = np.zeros_like(levels, dtype=bool)
    for i, rows in enumerate(chosen):
        mask[i, i] = True
        for level, j in rows:
            levels[i, probe_index[j]] = level
            mask[i, probe_index[j]] = True
    probes = examples(split, columns)
    others = np.arange(len(stimuli), len(columns))
    runs = {
        "main": Run(probes[: len(stimuli)], probes, mask),
        "sensitivity": sensitivity_run(probes, others, "completion"),
    }
    layout = layouts.DistanceLayout(np.arange(len(stimuli)), levels, others)
    return Task("distance", runs, layout, _image_labels(split, stimuli))


def sparseness(spec: TaskSpec) -> Task[layouts.SparsenessLayout]:
    """Per image: every other image of the task; other classes are the "other" family."""
    split = dataset(spec)
    shuffled = order(spec, split, "sparseness")
    columns = shuffled[: spec.items + in_proportion(BROAD, spec)]
    probes = examples(split, columns)
    labels = split.labels[columns].numpy()
    families = np.where(labels[None, : spec.items].T == labels[None, :], layouts.ENTITY, layouts.OTHER)
    families[np.arange(spec.items), np.arange(spec.items)] = layouts.UNUSED
    broad = np.arange(spec.items, len(columns))
    runs = {"main": Run(probes[: spec.items], probes), "sensitivity": sensitivity_run(probes, broad, "completion")}
    layout = layouts.SparsenessLayout(np.arange(spec.items), families, broad)
    return Task("sparseness", runs, layout, _image_labels(split, columns[: spec.items]))


def noise(spec: TaskSpec) -> Task[layouts.NoiseLayout]:
    """Clean images in same-class pairs, a pixel-noised copy of each, and pure-noise images."""
    split = dataset(spec)
    shuffled = order(spec, split, "noise")
    clean = _class_pairs(split, shuffled, spec.items)
    used = set(clean)
    broad = [i for i in shuffled if i not in used][: in_proportion(SPILL, spec)]
    draws = _draws(spec, "noise-pixels")
    clean_examples = examples(split, clean)
    noised = tuple(
        Example(pixel_noise(e.x, NOISE_SIGMAS[i % len(NOISE_SIGMAS)], draws.child(i)), e.y)
        for i, e in enumerate(clean_examples)
    )
    n_pure = max(2, spec.items // 3)
    shape = tuple(clean_examples[0].x.shape)
    pure = tuple(
        Example(
            noise_image(NOISE_KINDS[g % len(NOISE_KINDS)], shape, draws.child("pure", g)),
            draws.child("label", g).below(10),
        )
        for g in range(n_pure)
    )
    probes = (*clean_examples, *pure, *examples(split, broad))
    n = len(clean)
    partner = _same_class_partner(split.labels[clean].numpy())
    pure_columns = np.arange(n, n + n_pure)
    broad_columns = np.arange(n + n_pure, len(probes))
    spill = np.concatenate([np.arange(n), broad_columns])
    mask = np.zeros((n + n_pure, len(probes)), dtype=bool)
    for i in range(n):  # its own image, and the image it is the shuffled control of
        mask[i, i] = mask[i, np.flatnonzero(partner == i)] = True
    for g in range(n_pure):
        mask[n + g, pure_columns[g]] = True
        mask[n + g, spill] = True
    layout = layouts.NoiseLayout(
        self_column=np.arange(n),
        family=np.arange(n)[:, None],
        noised_row=np.arange(n),
        control_row=partner,
        pure_row=np.arange(n, n + n_pure),
        pure_column=pure_columns,
        spill_columns=spill,
        sensitivity_columns=broad_columns,
    )
    runs = {
        "main": Run(clean_examples, probes, one_hot_mask(range(n), len(probes))),
        "noised": Run((*noised, *pure), probes, mask),
        "sensitivity": sensitivity_run(probes, broad_columns, "completion"),
    }
    details = {"sigmas": [NOISE_SIGMAS[i % len(NOISE_SIGMAS)] for i in range(n)], "pure": list(NOISE_KINDS[:n_pure])}
    return Task("noise invariance", runs, layout, _image_labels(split, clean), details=details)


def _class_pairs(split: Images, shuffled: list[int], count: int) -> list[int]:
    """``count`` images (rounded up to even) such that every class present appears at least twice."""
    by_class: dict[int, list[int]] = {}
    picked: list[int] = []
    for i in shuffled:
        label = int(split.labels[i])
        by_class.setdefault(label, []).append(i)
        if len(by_class[label]) == 2:
            picked += by_class[label]
        elif len(by_class[label]) > 2:
            picked.append(i)
        if len(picked) >= count + count % 2:
            break
    return sorted(picked, key=lambda i: (int(split.labels[i]), picked.index(i)))


def _same_class_partner(labels: np.ndarray) -> np.ndarray:
    """For each item, the next item of its class (cyclically): its shuffled-pair control."""
    partner = np.empty(len(labels), dtype=np.int64)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        partner[members] = np.roll(members, -1)
    return partner


def transitivity(spec: TaskSpec) -> Task[layouts.TripleLayout]:
    """A square pool of small pixel-space neighbourhoods, so chains a -> b -> c can exist.

    Per class, 2 seeds and their 3 nearest neighbours; triples come from the pool's matrix.
    A task of fewer than 36 items (``--limit``) draws clusters in proportion (at least 2), so
    a smoke run costs about its share of a full one.
    """
    import torch

    split = dataset(spec)
    shuffled = order(spec, split, "transitivity")
    candidates = np.array(shuffled[:2000])
    flat = split.pixels.flatten(1)
    labels = split.labels.numpy()
    classes = sorted(set(labels[candidates].tolist()))
    budget = in_proportion(len(classes) * CLUSTERS_PER_CLASS, spec)
    pool: list[int] = []
    for position, label in enumerate(classes):
        same = [int(i) for i in candidates if labels[i] == label]
        # cluster c of every class before cluster c + 1 of any: a small pool still spans the classes
        seeds = [seed for c, seed in enumerate(same[:CLUSTERS_PER_CLASS]) if c * len(classes) + position < budget]
        for seed in seeds:
            rest = [i for i in same if i not in pool and i != seed]
            nearest = np.argsort(torch.cdist(flat[seed][None], flat[rest]).numpy()[0], kind="stable")
            pool += [seed, *(rest[k] for k in nearest[: CLUSTER_SIZE - 1])]
    items = examples(split, pool)
    layout = layouts.TripleLayout(labels[pool])
    return Task("transitivity", {"main": Run(items, items)}, layout, _image_labels(split, pool))


def _image_labels(split: Images, index: list[int] | np.ndarray) -> tuple[str, ...]:
    return tuple(f"image #{int(i)} (label {int(split.labels[int(i)])})" for i in index)
