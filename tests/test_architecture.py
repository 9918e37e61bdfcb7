"""The package's structure: no import cycle, no dispatch on model kind strings outside the registry, every model
registered once and built by its config, and old run folders' ``config.json`` still load.

The import graph is read from the source (``ast``), not by importing: every ``import`` statement counts, also
those inside functions (a lazy import that closes a cycle is still a cycle, only hidden). Imports under
``if TYPE_CHECKING:`` are left out: they never run and only name types for annotations."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import sceneprior
from sceneprior.models import ModelConfig, SceneModel
from sceneprior.registry import MODEL_CONFIGS, MODEL_KINDS, PRESET_NAMES, config_class, get_preset, presets

PACKAGE = Path(sceneprior.__file__).parent
#: the one module allowed to look models up by their names
REGISTRY = "sceneprior.registry"


def _modules() -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package ``__init__``) for every module of the installed package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:`` blocks."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skip.update(id(n) for n in ast.walk(child))
    return skip


def _imports(name: str, modules: dict[str, tuple[Path, bool]]) -> set[str]:
    """The package's modules that module ``name`` imports (``from pkg import sub`` counts as ``pkg.sub`` when
    ``sub`` is a module, else as ``pkg``)."""
    path, is_package = modules[name]
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_checking_nodes(tree)
    package = name if is_package else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m != name}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of a directed graph (as a path that returns to its start), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_cycle_finder_finds_a_cycle_and_accepts_a_tree():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_import_reader_sees_lazy_and_relative_imports():
    modules = _modules()
    assert "sceneprior.models.base" in _imports("sceneprior.models.pixelnerf", modules)  # from .base import ...
    assert "sceneprior.checkpoint" in _imports("sceneprior.training.tiny", modules)  # inside a function


def test_no_import_cycle_between_modules():
    modules = _modules()
    graph = {name: _imports(name, modules) for name in modules}
    assert sum(map(len, graph.values())) > 200  # the reader found the package's imports
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _layer(module: str) -> str:
    """The folder (subpackage) or top-level module a module belongs to: ``sceneprior.models.base`` -> ``models``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_no_import_cycle_between_folders():
    """The folders are layers: if anything in A imports anything in B, nothing in B imports anything in A (e.g.
    demo/ imports api.py, never the reverse; inference/ loads checkpoints without importing training/)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name in modules:
        for target in _imports(name, modules):
            if _layer(name) != _layer(target):
                graph.setdefault(_layer(name), set()).add(_layer(target))
    assert {"models", "models3d", "inference", "training", "demo", "api", "registry"} <= set(graph)
    cycle = _find_cycle(graph)
    assert cycle is None, "folders import each other: " + " -> ".join(cycle)


def test_the_core_never_imports_the_claims():
    """Experiments (sceneprior.claims) stay apart from the library: only the command's entry point imports them."""
    modules = _modules()
    assert any(m.startswith("sceneprior.claims.") for m in modules)
    for name in modules:
        if _layer(name) == "claims" or name == "sceneprior.cli.bench_claims":
            continue
        assert not any(_layer(m) == "claims" for m in _imports(name, modules)), name


def test_models_and_shape_models_do_not_import_each_other_in_a_cycle():
    """The image and 3D stacks share one registry above them; models3d builds on models, never the reverse."""
    modules = _modules()
    for name in modules:
        if name.startswith("sceneprior.models."):
            assert not any(m.startswith("sceneprior.models3d") for m in _imports(name, modules)), name
            assert REGISTRY not in _imports(name, modules), name


# ------------------------------------------------------------------------------------ kind-string dispatch


def _model_names() -> set[str]:
    """Every string that names a model: registered kinds, preset names and model class names."""
    classes = {type(get_preset(name).model.build(1)).__name__ for name in PRESET_NAMES}
    return set(MODEL_KINDS) | set(PRESET_NAMES) | classes


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _dispatch_sites(source: str, names: set[str]) -> list[str]:
    """Where code branches on what a model is called: a comparison (``==``, ``!=``, ``in``, ``not in``) with a
    model's name (outside ``assert``), a comparison of ``type(x).__name__``, or a ``getattr`` / ``hasattr`` probe
    of a model (a first argument called ``model`` or ``*.model``)."""
    tree = ast.parse(source)
    asserted = {id(n) for node in ast.walk(tree) if isinstance(node, ast.Assert) for n in ast.walk(node)}
    sites = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and id(node) not in asserted:
            operands = [node.left, *node.comparators]
            if any(s in names for op in operands for s in _strings(op)):
                sites.append(f"line {node.lineno}: {ast.unparse(node)}")
            elif any(isinstance(op, ast.Attribute) and op.attr == "__name__" for op in operands):
                sites.append(f"line {node.lineno}: {ast.unparse(node)}")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
                and node.args):
            target = node.args[0]
            if (isinstance(target, ast.Name) and target.id == "model") or (
                    isinstance(target, ast.Attribute) and target.attr == "model"):
                sites.append(f"line {node.lineno}: {ast.unparse(node)}")
    return sites


def test_dispatch_finder_flags_kind_strings_class_names_and_probes():
    names = {"pixelnerf", "srn", "PixelNeRF"}
    flagged = _dispatch_sites(
        "if preset.kind == 'pixelnerf': pass\n"
        "if kind in ('srn', 'lfn'): pass\n"
        "if type(model).__name__ == 'X': pass\n"
        "f = getattr(model, 'preview', None)\n"
        "ok = hasattr(self.model, 'field')\n", names)
    assert len(flagged) == 5, flagged
    assert _dispatch_sites("assert run.kind == 'pixelnerf'\nif model.geometry == 'density': pass\n"
                           "x = getattr(config, 'lr')\n", names) == []


def test_no_kind_string_dispatch_outside_the_registry():
    names = _model_names()
    found = {}
    for name, (path, _) in _modules().items():
        if name == REGISTRY:
            continue
        sites = _dispatch_sites(path.read_text(), names)
        if sites:
            found[name] = sites
    assert not found, f"dispatch on model names outside {REGISTRY} (ask the model for a declared capability): {found}"


# ------------------------------------------------------------------------------------ the registry


def test_every_model_is_registered_once_built_by_its_config_and_has_presets_and_a_tiny_variant():
    assert len(set(MODEL_KINDS)) == len(MODEL_CONFIGS)
    kinds_with_presets = {p.kind for p in presets().values()}
    for cls in MODEL_CONFIGS:
        assert issubclass(cls, ModelConfig) and config_class(cls.kind) is cls
        assert cls.kind in kinds_with_presets, f"{cls.__name__} has no preset"
    for name in PRESET_NAMES:
        config = get_preset(name).model
        model = config.tiny().build(2)
        assert isinstance(model, SceneModel) and model.geometry in ("density", "depth", "sdf", "occupancy", "none")
        assert type(config.tiny()) is type(config) and config.tiny() != config, name


def test_presets_are_fresh_objects():
    a, b = get_preset("pixelnerf"), get_preset("pixelnerf")
    assert a.model == b.model and a.model is not b.model and a.training is not b.training


SHIPPED = PACKAGE / "assets" / "models"


def _holds(new: object, old: object) -> bool:
    """Whether ``new`` has every key of ``old`` with the same value, recursively."""
    if isinstance(old, dict):
        return isinstance(new, dict) and all(k in new and _holds(new[k], v) for k, v in old.items())
    return new == old


@pytest.mark.parametrize("folder", sorted(p.name for p in SHIPPED.iterdir() if p.is_dir()))
def test_shipped_run_configs_load_with_the_registry_and_round_trip(folder):
    """Each shipped model's config.json (the format every old run folder has: ``kind`` beside the model config)
    rebuilds its model config, and writing it again keeps every value it held (fields added since then are
    written with their defaults)."""
    from sceneprior.training.trainer import RunConfig

    plain = json.loads((SHIPPED / folder / "config.json").read_text())
    run = RunConfig.from_plain(plain)
    assert run.kind == plain["kind"] and type(run.model) is config_class(plain["kind"])
    again = json.loads(json.dumps(run.to_plain()))
    assert again["kind"] == plain["kind"] and _holds(again["model"], plain["model"])
    assert again["num_train_scenes"] == plain["num_train_scenes"]
