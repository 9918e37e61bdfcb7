"""``sceneprior bench claim NAME``: the lecture's claims as commands (see :mod:`sceneprior.claims`)."""

from __future__ import annotations

import argparse

CLAIM_HELP = {
    "pose": "the 2D auto-encoder fails on unseen camera poses where 3D-structured models hold (from --quality)",
    "ood-input": "an encoder fails on out-of-distribution inputs; auto-decoding degrades gracefully",
    "resolution": "an auto-decoded SRN renders at 2x and 4x its training resolution without retraining",
    "lfn-prior": "an LFN fitted to a few views without a prior is wrong at held-out views; the learned prior is right",
    "interpolation": "latent interpolation between two objects gives plausible intermediate objects",
    "parts": "the prior's features segment object parts from a handful of labelled views (linear probe)",
    "static-dynamic": "static/dynamic ground plans learned from video split one image of a street (IoU vs labels, "
                      "novel-view PSNR, object removal); --model a groundplan run, --data a streets dataset",
}


def register_claims(sub: argparse._SubParsersAction) -> None:
    """Add ``claim`` to the ``bench`` subcommands."""
    from ..claims.common import CLAIM_NAMES, DEFAULTS

    lines = "; ".join(f"{n}: {CLAIM_HELP[n]} (defaults {DEFAULTS[n] or 'none'})" for n in CLAIM_NAMES)
    claim = sub.add_parser(
        "claim",
        help="test one of the lecture's claims: a number, a verdict and a plot under --out",
        description="Runs one claim of shared/design/FRAMEWORK.md and writes OUT/README.md (verdict, number, the "
        "exact command and the machine), OUT/claim.json and OUT/claim.png. Claims: " + lines.replace("%", "%%"),
    )
    claim.add_argument("name", choices=CLAIM_NAMES, help="which claim")
    claim.add_argument("--model", default=None, help="run folder, checkpoint or shipped model name (default: per claim)")
    claim.add_argument("--data", default="data/cars300", help="the generated dataset the model was trained on")
    claim.add_argument("--out", default=None, help="output folder (default: results/claims/NAME)")
    claim.add_argument("--objects", type=int, default=None, help="held-out objects (per input set); default per claim")
    claim.add_argument("--views", type=int, default=None, help="target views per object; default per claim")
    claim.add_argument("--steps", type=int, default=None, help="auto-decoding steps (lfn-prior: no-prior fitting steps)")
    claim.add_argument("--rays", type=int, default=None, help="random rays per auto-decoding step")
    claim.add_argument("--ks", default=None, help="parts: comma-separated numbers of labelled views (default 1,2,5,10,20)")
    claim.add_argument("--quality", default="results/quality", help="pose: the 'bench quality' output folder")
    claim.add_argument("--model-note", default="", help="how the model was made (printed in the Markdown)")
    claim.add_argument("--seed", type=int, default=0)
    claim.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    claim.set_defaults(func=_claim)


def _claim(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from ..claims.common import ClaimConfig, run_claim
    from ..errors import ConfigError

    ks = None
    if args.ks:
        try:
            ks = tuple(int(k) for k in args.ks.split(","))
        except ValueError:
            raise ConfigError(f"--ks {args.ks!r}: expected comma-separated integers") from None
    config = ClaimConfig(
        name=args.name, model=args.model, data=args.data, out=args.out, objects=args.objects, views=args.views,
        steps=args.steps, rays=args.rays, seed=args.seed, threads=args.threads, quality=args.quality, ks=ks,
        model_note=args.model_note, command="sceneprior " + shlex.join(sys.argv[1:]),
    )
    report = run_claim(config)
    verdict = {True: "HOLDS", False: "DOES NOT HOLD", None: "INCONCLUSIVE"}[report.holds]
    print(f"claim {report.claim}: {verdict}. {report.verdict}")
    print(f"wrote {config.out or 'results/claims/' + args.name}/README.md, claim.json, claim.png")
    return 0
