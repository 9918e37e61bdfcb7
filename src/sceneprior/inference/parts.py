"""Part segmentation from a handful of labelled views, as a feature (Kohli et al. 2020: the features a prior learns
from images alone segment parts from a few labels; our ``parts`` claim measures it).

A linear probe (multinomial logistic regression on standardised features) is fitted on every pixel of the
labelled views: the features are the model's own per-pixel features (:meth:`SceneModel.pixel_features`, SRN's φ
where its ray marcher stops) of each labelled object, its latent inferred from its labelled views as ``reconstruct``
infers one. A part map of any view of any scene is then the probe applied to that view's features.

* :func:`fit_part_probe` — the probe from labelled views (a dataset with ``parts/`` label images: the SRN layout
  our generator writes; class names from ``metadata.json``'s ``part_names``);
* :meth:`PartProbe.part_map` — the part labels of a rendered view;
* :func:`evaluate_parts` — mIoU of the part maps of held-out objects' novel views against their labels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from jaxtyping import Float, Int
from torch import Tensor

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..models.base import SceneLatent, SceneModel
    from .infer import InferenceConfig

#: colours of the part labels in pictures (label 0, the background, is white)
PART_COLOURS = np.array([[1, 1, 1], [0.85, 0.2, 0.2], [0.2, 0.4, 0.9], [0.3, 0.85, 0.9], [0.15, 0.15, 0.15],
                         [1.0, 0.8, 0.1], [0.6, 0.3, 0.8], [0.3, 0.7, 0.3]], np.float32)
#: the names of those colours, for legends
PART_COLOUR_NAMES = ("white", "red", "blue", "cyan", "black", "yellow", "purple", "green")


def part_colours(labels: np.ndarray | Tensor) -> np.ndarray:
    """An RGB picture (float32 in [0, 1]) of integer part labels (colours repeat after 8 labels)."""
    return PART_COLOURS[np.asarray(labels) % len(PART_COLOURS)]


def legend(names: list[str]) -> str:
    """``background white, body red, ...``"""
    return ", ".join(f"{n} {PART_COLOUR_NAMES[c % len(PART_COLOUR_NAMES)]}" for c, n in enumerate(names))


@dataclass
class PartProbe:
    """A fitted linear probe: ``probe(features)`` is the part label of each row."""

    mean: Float[Tensor, " channel"]
    std: Float[Tensor, " channel"]
    weight: Float[Tensor, "channel part"]
    bias: Float[Tensor, " part"]
    names: list[str] = field(default_factory=list)
    #: what it was fitted on (scene id: view ids), for reports
    labelled: dict[str, list[str]] = field(default_factory=dict)

    def __call__(self, features: Float[Tensor, "sample channel"]) -> Int[Tensor, " sample"]:
        return (((features - self.mean) / self.std) @ self.weight + self.bias).argmax(1)

    @property
    def classes(self) -> int:
        return int(self.weight.shape[1])

    def part_map(self, model: "SceneModel", latent: "SceneLatent", cam2world: Float[Tensor, "4 4"],
                 K: Float[Tensor, "3 3"], height: int, width: int) -> Int[Tensor, "height width"]:
        """The part labels of scene 0 of ``latent`` seen from ``cam2world`` / ``K`` at ``height`` x ``width``."""
        return self(model_features(model, latent, cam2world, K, height, width)).reshape(height, width)


def fit_probe(features: Float[Tensor, "sample channel"], labels: Int[Tensor, " sample"], classes: int,
              weight_decay: float = 1e-4, iterations: int = 100) -> PartProbe:
    """A linear probe (multinomial logistic regression on standardised features, L-BFGS)."""
    mean = features.mean(0)
    std = features.std(0).clamp(min=1e-6)
    x = (features - mean) / std
    weight = torch.zeros(x.shape[1], classes, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():  # noqa: ANN202
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x @ weight + bias, labels) + weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return PartProbe(mean, std, weight.detach(), bias.detach())


def mean_iou(prediction: Int[Tensor, " sample"], truth: Int[Tensor, " sample"], classes: int) -> tuple[float, list[float | None]]:
    """Mean over the classes present in ``truth`` of the intersection over union (pixels pooled)."""
    ious: list[float | None] = []
    for c in range(classes):
        t, p = truth == c, prediction == c
        ious.append(float((t & p).sum()) / float((t | p).sum()) if t.any() else None)
    present = [v for v in ious if v is not None]
    return float(np.mean(present)), ious


def model_features(model: "SceneModel", latent: "SceneLatent", cam2world: Float[Tensor, "4 4"], K: Float[Tensor, "3 3"],
                   height: int, width: int) -> Float[Tensor, "pixel channel"]:
    """:meth:`SceneModel.pixel_features`, or a one-line error for a model that has none."""
    with torch.no_grad():
        features = model.pixel_features(latent, cam2world.float(), K.float(), height, width)
    if features is None:
        raise ConfigError(f"{type(model).__name__} exposes no per-pixel features, so it cannot segment parts "
                          "(an SRN can)")
    return features.float().cpu()


def _labelled_dataset(path: str | Path, split: str):  # noqa: ANN202
    from ..data.datasets import open_dataset
    from ..data.metadata import dataset_metadata

    dataset = open_dataset(path, split=split, load_extras=True)
    names = [str(n) for n in (dataset_metadata(path).get("part_names") or [])]
    return dataset, names


def fit_part_probe(model: "SceneModel", labels: str | Path, inference: "InferenceConfig", objects: int = 5,
                   views: tuple[int, ...] = (0,), split: str = "train") -> PartProbe:
    """The probe from views ``views`` of the first ``objects`` objects of ``split`` of the labelled dataset at
    ``labels`` (their ``parts/`` images); each object's latent is inferred from those views by ``inference``."""
    from .infer import infer

    dataset, names = _labelled_dataset(labels, split)
    if not 1 <= objects <= len(dataset):
        raise ConfigError(f"{labels}: asked for {objects} labelled objects, the {split} split holds {len(dataset)}")
    features, targets, labelled = [], [], {}
    for i in range(objects):
        scene = dataset.load_views(i, list(views))
        if scene.parts is None:
            raise ConfigError(f"{labels}: object {scene.scene_id} has no part labels (expected parts/*.png beside rgb/)")
        latent = infer(model, scene, inference).latent
        for k in range(scene.num_views):
            features.append(model_features(model, latent, scene.cam2world[k], scene.intrinsics[k], scene.height, scene.width))
            targets.append(scene.parts[k, 0].reshape(-1).long())
        labelled[scene.scene_id] = list(scene.view_ids)
    y = torch.cat(targets)
    classes = max(len(names), int(y.max()) + 1)
    probe = fit_probe(torch.cat(features), y, classes)
    probe.names = names + [f"part {c}" for c in range(len(names), classes)]
    probe.labelled = labelled
    return probe


@dataclass
class PartsResult:
    """mIoU of part maps of held-out objects' novel views (see :func:`evaluate_parts`)."""

    miou: float
    per_class: list[float | None]
    names: list[str]
    objects: list[dict]
    seconds: float


def evaluate_parts(model: "SceneModel", probe: PartProbe, data: str | Path, inference: "InferenceConfig",
                   split: str = "test", objects: int = 8, input_views: tuple[int, ...] = (0,),
                   max_views: int | None = None) -> PartsResult:
    """For each of the first ``objects`` objects of ``split``: the latent from ``input_views`` (as ``eval``), the
    part map of every other view (at most ``max_views`` of them, evenly spaced) against its labels; mIoU over the
    pooled pixels of every scored view, mean over the classes present."""
    from .infer import infer

    dataset, _ = _labelled_dataset(data, split)
    if not 1 <= objects <= len(dataset):
        raise ConfigError(f"{data}: asked to score {objects} objects, the {split} split holds {len(dataset)}")
    start = time.perf_counter()
    predictions, truths, rows = [], [], []
    for i in range(objects):
        total = dataset.num_views(i)
        targets = [v for v in range(total) if v not in input_views]
        if max_views is not None and len(targets) > max_views:
            targets = [targets[round(j * (len(targets) - 1) / max(1, max_views - 1))] for j in range(max_views)]
        observed = dataset.load_views(i, list(input_views))
        truth = dataset.load_views(i, targets)
        if truth.parts is None:
            raise ConfigError(f"{data}: object {truth.scene_id} has no part labels (parts/*.png)")
        latent = infer(model, observed, inference).latent
        pred = torch.stack([probe.part_map(model, latent, truth.cam2world[k], truth.intrinsics[k], truth.height, truth.width)
                            for k in range(truth.num_views)]).reshape(-1)
        gt = truth.parts[:, 0].reshape(-1).long()
        rows.append({"scene_id": truth.scene_id, "views": len(targets), "miou": mean_iou(pred, gt, probe.classes)[0]})
        predictions.append(pred)
        truths.append(gt)
    miou, per_class = mean_iou(torch.cat(predictions), torch.cat(truths), probe.classes)
    return PartsResult(miou, per_class, probe.names, rows, time.perf_counter() - start)
