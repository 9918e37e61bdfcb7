"""Why the field MLP's forward+backward stays below the dense-matmul limit on a CPU: its time split into the matmuls
it must do and the rest, all measured interleaved in one run (issue 19).

Per repeat, in turn: (i) the 2048² fp32 matmul (``bench speed``'s limit); (ii) the library's field MLP
(:class:`sceneprior.fields.MLP`, 63 -> 5 x 256 -> 4, 16,384 points: ``bench speed``'s network) forward+backward;
(iii) the same network as a plain ``nn.Sequential`` with out-of-place ReLUs (what ``bench speed`` timed before);
(iv) only the matrix products of (ii)'s forward+backward, with the same shapes, into preallocated outputs (the
floor that a perfectly fused addmm chain would reach: every FLOP counted, no other work); (v) only the rest of
(ii): per layer the bias broadcast into the output, the ReLU, the ReLU's backward mask, the bias gradient (a sum
over points) and the gradient accumulation, on tensors of the same sizes, no matmul; (vi) (ii) in four chunks of
4,096 points, each chunk's backward right after its forward (gradient accumulation: the same gradients), so a
chunk's activations are still in cache when its backward reads them.

Prints each series' median GFLOP/s (FLOPs counted as ``bench speed`` does: 3x the forward's) and the median over
repeats of its ratio to the limit measured next to it ((v) has no FLOPs: its share of (ii)'s time instead);
``--json`` saves everything with the load average.

    python scripts/mlp_limit.py --threads 2 --json results/mlp_limit.json
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--points", type=int, default=16384)
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    import torch
    from torch import nn

    from sceneprior.fields.mlp import MLP

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n, width, depth, in_dim, out_dim = args.points, 256, 5, 63, 4
    ours = MLP(in_dim, out_dim, width, hidden_layers=depth - 1)
    dims = ours.dims
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    sequential = nn.Sequential(*layers)
    sequential.load_state_dict({f"{2 * i}.{k}": v for i, lin in enumerate(ours.linears) for k, v in lin.state_dict().items()})
    x = torch.randn(n, in_dim)
    flops = 3 * 2 * n * sum(a * b for a, b in zip(dims[:-1], dims[1:]))

    def train(net: nn.Module, chunks: int = 1) -> None:
        net.zero_grad(set_to_none=True)
        for part in x.chunk(chunks):
            (net(part).square().sum() / x.numel()).backward()

    # (iv) the matmuls alone: forward x_k @ W_k^T, backward g_k @ W_k (not for the first layer: x needs no grad)
    # and g_k^T @ x_k, into preallocated outputs
    acts = [torch.randn(n, d) for d in dims]
    weights = [torch.randn(b, a) for a, b in zip(dims[:-1], dims[1:])]
    grads_w = [torch.empty(b, a) for a, b in zip(dims[:-1], dims[1:])]

    def matmuls_only() -> None:
        for k, w in enumerate(weights):
            torch.mm(acts[k], w.t(), out=acts[k + 1])
        for k in reversed(range(len(weights))):
            g = acts[k + 1]
            torch.mm(g.t(), acts[k], out=grads_w[k])
            if k > 0:
                torch.mm(g, weights[k], out=acts[k])

    # (v) everything else the forward+backward does per layer, no matmul
    biases = [torch.randn(d) for d in dims[1:]]
    grad_b = [torch.empty(d) for d in dims[1:]]
    grad_acc = [torch.zeros(b, a) for a, b in zip(dims[:-1], dims[1:])]
    outs = [torch.empty(n, d) for d in dims[1:]]

    def rest_only() -> None:
        for k, b in enumerate(biases):
            outs[k].copy_(b.expand_as(outs[k]))  # addmm's bias broadcast
            if k < len(biases) - 1:
                outs[k].relu_()
        for k in reversed(range(len(biases))):
            if k < len(biases) - 1:
                torch.ops.aten.threshold_backward(acts[k + 1], outs[k], 0.0)  # the ReLU's mask
            torch.sum(acts[k + 1], dim=0, out=grad_b[k])  # bias gradient
            grad_acc[k].add_(grads_w[k])  # AccumulateGrad (a fresh .grad is a copy instead)

    a2, b2 = torch.randn(2048, 2048), torch.randn(2048, 2048)
    ops = {
        "limit": (lambda: a2 @ b2, 2 * 2048**3),
        "mlp": (lambda: train(ours), flops),
        "sequential_out_of_place": (lambda: train(sequential), flops),
        "matmuls_only": (matmuls_only, flops),
        "rest_only": (rest_only, flops),
        "mlp_4_chunks": (lambda: train(ours, 4), flops),
    }
    for _ in range(2):
        for fn, _ in ops.values():
            fn()
    load_before = list(os.getloadavg())
    seconds: dict[str, list[float]] = {name: [] for name in ops}
    for _ in range(args.repeats):
        for name, (fn, _) in ops.items():
            start = time.perf_counter()
            fn()
            seconds[name].append(time.perf_counter() - start)
    load_after = list(os.getloadavg())
    gflops = {name: [ops[name][1] / t / 1e9 for t in ts] for name, ts in seconds.items()}
    limit = gflops["limit"]
    spread = (max(limit) - min(limit)) / statistics.median(limit)
    report = {
        "command": "python scripts/mlp_limit.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "threads": torch.get_num_threads(), "points": n, "dims": dims, "repeats": args.repeats,
        "processor": platform.processor() or platform.machine(), "torch": torch.__version__,
        "load_average_before": load_before, "load_average_after": load_after, "limit_spread": spread,
        "seconds": seconds, "gflops": gflops,
        "median_gflops": {k: statistics.median(v) for k, v in gflops.items()},
        "fraction_of_limit": {k: statistics.median(a / b for a, b in zip(v, limit)) for k, v in gflops.items()},
        "median_seconds": {k: statistics.median(v) for k, v in seconds.items()},
    }
    print(f"{torch.get_num_threads()} thread(s), load {load_before[0]:.2f} -> {load_after[0]:.2f}, limit spread "
          f"{100 * spread:.0f}% over {args.repeats} interleaved repeats")
    mlp_ms = report["median_seconds"]["mlp"] * 1e3
    for name in ops:
        ms = report["median_seconds"][name] * 1e3
        if name == "rest_only":  # no FLOPs of its own: its share of the MLP's time
            print(f"  {name:24s} {'':14s}  {ms:7.1f} ms  ({100 * ms / mlp_ms:.0f}% of the mlp's time)")
            continue
        print(f"  {name:24s} {report['median_gflops'][name]:6.1f} GFLOP/s  {ms:7.1f} ms  "
              f"{100 * report['fraction_of_limit'][name]:5.1f}% of the limit")
    report["rest_share_of_mlp_time"] = report["median_seconds"]["rest_only"] / report["median_seconds"]["mlp"]
    if args.json:
        from sceneprior.bench.reconstruct import write_json

        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
