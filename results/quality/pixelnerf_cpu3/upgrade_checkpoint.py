"""One-off: rewrite a pixelNeRF checkpoint of the layout before 7924f16 (its own ResnetFC copy: parameters in the
order lin_in, inject.*, blocks.*, lin_out) in the current layout, optimiser moments included, so that the run can
resume with its Adam state. The model weights load through PixelNeRF's state-dict upgrade anyway; the optimiser
state, stored by parameter index, needs the same renaming and permutations, applied here to exp_avg and exp_avg_sq
(elementwise statistics, so they permute with their weights). The old order is checked against the moments' shapes.

    python results/quality/pixelnerf_cpu3/upgrade_checkpoint.py OLD.safetensors RUN_DIR
"""

import sys

from sceneprior.training import RunConfig, load_checkpoint, save_checkpoint
from sceneprior.training.trainer import make_optimizer


def main(old_path: str, run_dir: str) -> None:
    ckpt = load_checkpoint(old_path)
    run = RunConfig.from_plain(ckpt.run_config)
    model = run.build_model()
    model.load_state_dict(ckpt.model_state)  # the registered upgrade renames and permutes the weights
    new_names = [n for n, _ in model.named_parameters()]
    old_names = [n for n in new_names if n.startswith("encoder.")]
    for net in ("coarse", "fine"):
        own = [n for n in new_names if n.startswith(f"{net}.")]
        old_names += [n for n in own if ".lin_in." in n]
        old_names += [n.replace(".lin_z.", ".inject.") for n in own if ".lin_z." in n]
        old_names += [n for n in own if ".blocks." in n]
        old_names += [n for n in own if ".lin_out." in n]
    assert sorted(old_names) == sorted(n.replace(".lin_z.", ".inject.") for n in new_names)
    state = ckpt.optimizer_state["state"]
    old_shapes = {n: tuple(ckpt.model_state[n].shape) for n in old_names}
    for i, name in enumerate(old_names):  # the old order is right: every moment has its parameter's old shape
        assert tuple(state[i]["exp_avg"].shape) == old_shapes[name], (i, name)
    moments = {}
    for key in ("exp_avg", "exp_avg_sq"):
        by_name = {name: state[i][key] for i, name in enumerate(old_names)}
        model._upgrade_state_dict(by_name, "")  # same renaming/permutation as the weights
        moments[key] = by_name
    optimizer = make_optimizer(model, run.train.lr, run.train.latent_lr)
    new_state = {"state": {}, "param_groups": ckpt.optimizer_state["param_groups"]}
    for i, name in enumerate(new_names):
        old_index = old_names.index(name.replace(".lin_z.", ".inject."))
        new_state["state"][i] = {"step": state[old_index]["step"], "exp_avg": moments["exp_avg"][name],
                                 "exp_avg_sq": moments["exp_avg_sq"][name]}
    optimizer.load_state_dict(new_state)
    path = save_checkpoint(run_dir, ckpt.step, model, optimizer, ckpt.rng, ckpt.run_config, keep=10, extra=ckpt.extra)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
