"""``python -m explainer <command>``: the app's computations, headless, with JSON output.

Commands: ``info``, ``train``, ``evaluate``, ``saliency`` ... Progress goes to stderr; ``--json`` prints one
JSON object on stdout at the end. Any bad input (unknown dataset, missing or foreign
checkpoint, no network for a download, a learning rate that blows the loss up) ends with
one line on stderr and exit code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit code 2)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}  # filled by add_subparsers: command name → its parser

    def error(self, message: str) -> NoReturn:
        command = " ".join(["python -m explainer", *self.prog.split()[1:], "--help"])  # prog: "explainer [command]"
        self.exit(EXIT_USAGE, f"error: {message} (see `{command}`)\n")

    def add_subparsers(self, **kwargs: Any) -> Any:
        action = super().add_subparsers(**kwargs)
        self.commands = action.choices
        return action

    def parse_args(self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None) -> argparse.Namespace:  # type: ignore[override]
        """As argparse's, but an unknown flag after a command is that command's error, pointing at its ``--help``."""
        argv = list(sys.argv[1:] if args is None else args)
        parsed, extras = self.parse_known_args(argv, namespace)
        if extras:
            command = getattr(parsed, "command", None)
            after_command = command in argv and extras[0] in argv[argv.index(command) + 1 :]
            (self.commands[command] if after_command and command in self.commands else self).error(
                f"unrecognized arguments: {' '.join(extras)}")
        return parsed


def build_parser() -> argparse.ArgumentParser:
    from .checkpoint import SHIPPED_KINDS
    from .data import DATASETS, DEFAULT_DATASET
    from .device import DEVICE_CHOICES
    from .model import ACTIVATIONS, DEFAULT_KIND, MODEL_KINDS, PADDINGS
    from .presets import PRESETS
    from .train import OPTIMIZERS, SCHEDULES, TrainConfig

    defaults = TrainConfig()
    parser = _Parser(prog="explainer", description="CNN Explainer: train, evaluate and inspect the teaching models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
        p.add_argument("--device", default=None, help=f"{', '.join(DEVICE_CHOICES)} or cuda:N (default: auto)")

    p = sub.add_parser("info", help="device, the shipped model, the datasets")
    common(p)
    p.add_argument("--data-dir", default=None, help="folder that holds MNIST / FashionMNIST files")

    p = sub.add_parser("train", help="train a model and save it as a checkpoint")
    common(p)
    p.add_argument("--dataset", choices=list(DATASETS), default=DEFAULT_DATASET)
    p.add_argument("--data-dir", default=None, help="folder that holds (or receives) MNIST / FashionMNIST files")
    p.add_argument("--preset", choices=list(PRESETS), default=None,
                   help="the course's settings: softmax regression, the 784-256-10 MLP or the one-block CNN, with SGD, "
                        "learning rate 0.1, batch 256, 10 epochs (other flags override them)")
    p.add_argument("--model", choices=list(MODEL_KINDS), default=None, help=f"default: {DEFAULT_KIND}")
    p.add_argument("--channels", type=int, nargs="+", default=None, metavar="N",
                   help="SimpleCNN: channels of each convolution block, 1 to 3 numbers (default: 8 16)")
    p.add_argument("--kernel", type=int, default=None, help="SimpleCNN: kernel size (default 3)")
    p.add_argument("--padding", choices=list(PADDINGS), default=None, help="SimpleCNN: same (k // 2) or valid (0)")
    p.add_argument("--activation", choices=list(ACTIVATIONS), default=None, help="SimpleCNN and MLP (default relu)")
    p.add_argument("--dropout", type=float, default=None, help="SimpleCNN and MLP: dropout before the last layer (default 0)")
    p.add_argument("--hidden", type=int, default=None, help="hidden layer width (SimpleCNN: 0 = none)")
    p.add_argument("--epochs", type=int, default=None, help=f"default: {defaults.epochs}")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default depends on the optimizer)")
    p.add_argument("--optimizer", choices=list(OPTIMIZERS), default=None, help=f"default: {defaults.optimizer}")
    p.add_argument("--schedule", choices=list(SCHEDULES), default=None, help=f"default: {defaults.schedule}")
    p.add_argument("--batch-size", type=int, default=None, help=f"default: {defaults.batch_size}")
    p.add_argument("--save-run", action="store_true", help="also keep the run in the run store (the class board's runs)")
    p.add_argument("--snapshots", type=int, default=None, metavar="N",
                   help="record N snapshots of the run (kernels, maps, probabilities, confusion) as <checkpoint>.snapshots.json")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--train-limit", type=int, default=None, help="train on the first N images only")
    p.add_argument("--out", default=None, help="checkpoint path (.safetensors or .pt; default: <model>-<dataset>.safetensors)")
    p.add_argument("--tensorboard", default=None, metavar="DIR", help="also log Loss/train, Accuracy/train, Accuracy/test")

    p = sub.add_parser("serve", help="a whole class on one machine: N app replicas behind nginx, started and stopped together")
    p.add_argument("--replicas", type=int, default=max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2)),
                   help="app processes (default: one per core, at most 8)")
    p.add_argument("--port", type=int, default=8501, help="where nginx listens (the replicas use the next ports)")
    p.add_argument("--host", default="0.0.0.0", help="the address nginx listens on (default: every interface)")

    p = sub.add_parser("runs", help="the saved runs of the class (the run store): list, show, export, delete")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("action", choices=("list", "show", "export", "delete"))
    p.add_argument("run", nargs="?", default=None, help="the run's id (show, export, delete)")
    p.add_argument("--desk", default=None, help="only this desk's runs (list)")
    p.add_argument("--out", default=None, help="export: where to write the checkpoint (.safetensors)")

    p = sub.add_parser("forward", help="one digit through a model, stage by stage")
    common(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--index", type=int, default=None, help="a held-out test digit of the model's dataset (default 0)")
    which.add_argument("--image", default=None, help="a picture of a digit (PNG, JPEG, BMP, GIF, ...)")
    p.add_argument("--checkpoint", default=None, help="default: a shipped model (see --model)")
    p.add_argument("--model", choices=list(SHIPPED_KINDS), default=DEFAULT_KIND, help="which shipped model")
    p.add_argument("--data-dir", default=None)

    p = sub.add_parser("overview", help="every layer of the network for one digit; --unit shows how one unit was computed")
    common(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--index", type=int, default=None, help="a held-out test digit of the model's dataset (default 0)")
    which.add_argument("--image", default=None, help="a picture of a digit (PNG, JPEG, BMP, GIF, ...)")
    p.add_argument("--unit", default=None, metavar="STAGE:I[:J:K]",
                   help="a unit, numbers from 1: conv2:5:7:7 is map 5, row 7, column 7 of conv2; fc1:12 unit 12 of fc1")
    p.add_argument("--checkpoint", default=None, help="default: a shipped model (see --model)")
    p.add_argument("--model", choices=list(SHIPPED_KINDS), default=DEFAULT_KIND, help="which shipped model")
    p.add_argument("--data-dir", default=None)

    p = sub.add_parser("walkthrough", help="the course example stage by stage: conv, ReLU, pool, flatten, fc, softmax")
    common(p)
    p.add_argument("--input", default=None, help='input grid: JSON ("[[3,3,2],[2,3,2]]") or rows ("3 3 2; 2 3 2"); default: the course 5x5')
    p.add_argument("--kernel", default=None, help="kernel grid, same forms; default: the course 3x3")
    p.add_argument("--stride", type=int, default=1)
    p.add_argument("--padding", type=int, default=0)
    p.add_argument("--dilation", type=int, default=1)
    p.add_argument("--bias", type=float, default=0.0)
    p.add_argument("--pool", choices=["max", "avg"], default="max")
    p.add_argument("--pool-kernel", type=int, default=2)
    p.add_argument("--pool-stride", type=int, default=2)
    p.add_argument("--pool-padding", type=int, default=1)
    p.add_argument("--fc-outputs", type=int, default=3, help="outputs of the fully connected layer (seeded weights)")
    p.add_argument("--fc-seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=1.0)

    from .stages.softmax import MARGIN

    p = sub.add_parser("softmax", help="softmax step by step (and cross-entropy and hinge with --target)")
    common(p)
    p.add_argument("--logits", type=float, nargs="+", required=True, metavar="Z")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--target", type=int, default=None, help="true class: also print the cross-entropy (on z / T) and hinge (on z) losses")
    p.add_argument("--margin", type=float, default=MARGIN.default, help=f"the hinge's margin Δ (default {MARGIN.default:g})")

    from .saliency import METHODS

    p = sub.add_parser("saliency", help="an attribution map of one digit (Captum): which pixels made the score")
    common(p)
    p.add_argument("--method", choices=list(METHODS), required=True)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--index", type=int, default=None, help="a held-out test digit of the model's dataset (default 0)")
    which.add_argument("--image", default=None, help="a picture of a digit (PNG, JPEG, BMP, GIF, ...)")
    p.add_argument("--target", type=int, default=None, help="the class to explain (default: the prediction)")
    p.add_argument("--checkpoint", default=None, help="default: a shipped model (see --model)")
    p.add_argument("--model", choices=list(SHIPPED_KINDS), default=DEFAULT_KIND, help="which shipped model")
    p.add_argument("--data-dir", default=None)
    _setting_flags(p, METHODS)

    from .descent import DEFAULT_CONDITION, FUNCTIONS
    from .descent import OPTIMIZERS as DESCENT_OPTIMIZERS

    p = sub.add_parser("descent", help="an optimizer's path on a toy loss function (torch.optim, autograd)")
    common(p)
    p.add_argument("--function", choices=list(FUNCTIONS), default="quadratic")
    p.add_argument("--optimizer", choices=list(DESCENT_OPTIMIZERS), default="sgd")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: one that suits the function and optimizer)")
    p.add_argument("--steps", type=int, default=None, help="steps to take (default depends on the function)")
    p.add_argument("--start", type=float, nargs="+", default=None, metavar="X",
                   help="start point: two numbers (one for parabola, two_minima, plateau); default per function")
    p.add_argument("--condition", type=float, default=DEFAULT_CONDITION, help="quadratic: condition number κ of ½(x² + κy²)")

    p = sub.add_parser("landscape", help="the loss of a model over a plane of two filter-normalised random directions")
    common(p)
    p.add_argument("--checkpoint", default=None, help="default: a shipped model (see --model)")
    p.add_argument("--model", choices=list(SHIPPED_KINDS), default=DEFAULT_KIND, help="which shipped model")
    p.add_argument("--grid", type=int, default=21, help="points per side (odd; default 21)")
    p.add_argument("--span", type=float, default=1.0, help="α and β run from −span to span (default 1)")
    p.add_argument("--batch", type=int, default=256, help="test digits, picked with a fixed seed (default 256)")
    p.add_argument("--seed", type=int, default=0, help="seed of the two random directions (default 0)")
    p.add_argument("--data-dir", default=None)

    p = sub.add_parser("evaluate", help="test accuracy and loss of a checkpoint")
    common(p)
    p.add_argument("--checkpoint", default=None, help="default: the shipped SimpleCNN")
    p.add_argument("--dataset", choices=list(DATASETS), default=None, help="default: the checkpoint's dataset")
    p.add_argument("--data-dir", default=None)
    return parser


def _setting_flags(p: argparse.ArgumentParser, methods: dict[str, Any]) -> None:
    """One flag per attribution setting (``--steps``, ``--smooth-over`` ...), from its declaration in SETTINGS.

    The flags default to None: a setting not given keeps the library's default, and the
    library checks the bounds (one line on stderr, exit code 2, as for any bad value).
    """
    from .attribution_settings import CHOICE, SETTINGS, WHOLE
    from .i18n import t

    for spec in SETTINGS:
        users = ", ".join(key for key, method in methods.items() if spec.name in method.settings) or "no method"
        about = f"[{users}] " + t(spec.help_key, "en").replace("%", "%%")  # argparse formats help with %
        flag = f"--{spec.name.replace('_', '-')}"
        if spec.kind == CHOICE:
            p.add_argument(flag, dest=spec.name, choices=list(spec.choices), default=None, help=f"{about} (default {spec.default})")
        else:
            p.add_argument(flag, dest=spec.name, type=int if spec.kind == WHOLE else float, default=None,
                           metavar="N" if spec.kind == WHOLE else "X",
                           help=f"{about} ({spec.show(spec.low)} to {spec.show(spec.high)}, default {spec.show(spec.default)})")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed as one line
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        commands = {"info": cmd_info, "train": cmd_train, "evaluate": cmd_evaluate, "forward": cmd_forward, "overview": cmd_overview, "runs": cmd_runs, "serve": cmd_serve,
                    "walkthrough": cmd_walkthrough, "softmax": cmd_softmax, "saliency": cmd_saliency,
                    "descent": cmd_descent, "landscape": cmd_landscape}
        result = commands[args.command](args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError, OSError) as exc:  # CheckpointError, DatasetUnavailable, TrainingDiverged ...
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        try:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        except BrokenPipeError:  # `... --json | head`: the reader left; not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
    return 0


def _device(args: argparse.Namespace):  # noqa: ANN202
    from .device import pick_device

    return pick_device(args.device)


def cmd_info(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from .checkpoint import CheckpointError, load_shipped
    from .data import DATASETS, dataset_available
    from .device import cuda_available, device_name, mps_available
    from .model import count_parameters
    from .paths import SHIPPED_CHECKPOINT, cache_dir

    device = _device(args)
    info: dict[str, Any] = {
        "device": str(device),
        "device_name": device_name(device),
        "cuda_available": cuda_available(),
        "mps_available": mps_available(),
        "torch": torch.__version__,
        "cache_dir": str(cache_dir()),
    }
    try:
        ckpt = load_shipped(device)
        info["default_model"] = {
            "kind": ckpt.meta.model.kind,
            "config": ckpt.meta.model.to_dict(),
            "parameters": count_parameters(ckpt.model),
            "dataset": ckpt.meta.dataset,
            "test_accuracy": ckpt.meta.test_accuracy,
            "checkpoint": str(SHIPPED_CHECKPOINT),
        }
    except CheckpointError as exc:
        info["default_model"] = {"error": str(exc)}
    info["datasets"] = [
        {
            "name": d.key,
            "title": d.title,
            "classes": list(d.classes),
            "offline": d.offline,
            "available_offline": dataset_available(d.key, args.data_dir),
        }
        for d in DATASETS.values()
    ]
    if not args.json:
        model = info["default_model"]
        _say(f"device: {info['device']} ({info['device_name']}); CUDA available: {info['cuda_available']}")
        if "error" in model:
            _say(f"default model: unavailable ({model['error']})")
        else:
            _say(
                f"default model: {model['kind']}, {model['parameters']:,} parameters, "
                f"trained on {model['dataset']}, test accuracy {model['test_accuracy']:.3f}"
            )
        for d in info["datasets"]:
            _say(f"dataset {d['name']}: {'available offline' if d['available_offline'] else 'needs a download'}")
    return info


def _given(flag: Any, preset: Any, default: Any) -> Any:  # noqa: ANN401
    """A flag the user gave wins over the preset's value, which wins over the default."""
    return flag if flag is not None else preset if preset is not None else default


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    from .checkpoint import check_checkpoint_path, make_meta, save_checkpoint
    from .data import load_dataset
    from .device import device_name
    from .architecture import map_sizes, sizes_text
    from .model import DEFAULT_KIND, ModelConfig, count_parameters
    from .presets import PRESETS
    from .train import BatchProgress, EpochStats, TrainConfig, Trainer, train

    device = _device(args)
    preset = PRESETS[args.preset] if args.preset else None
    chosen = preset.train_settings() if preset else {}
    defaults = TrainConfig()
    config = TrainConfig(
        epochs=_given(args.epochs, chosen.get("epochs"), defaults.epochs),
        lr=_given(args.lr, chosen.get("lr"), None),
        optimizer=_given(args.optimizer, chosen.get("optimizer"), defaults.optimizer),
        batch_size=_given(args.batch_size, chosen.get("batch_size"), defaults.batch_size),
        seed=args.seed,
        schedule=_given(args.schedule, chosen.get("schedule"), defaults.schedule),
        train_limit=args.train_limit,
    )
    base = preset.model if preset and args.model in (None, preset.model.kind) else ModelConfig(kind=args.model or DEFAULT_KIND)
    arch = {name: value for name, value in (("channels", tuple(args.channels) if args.channels else None), ("kernel_size", args.kernel),
                                            ("padding", args.padding), ("activation", args.activation), ("dropout", args.dropout),
                                            ("hidden", args.hidden)) if value is not None}
    model_config = dataclasses.replace(base, **arch) if arch else base
    kind = model_config.kind
    out = check_checkpoint_path(args.out or f"{kind}-{args.dataset}.safetensors")  # before, not after, training
    if args.snapshots is not None and not 2 <= args.snapshots <= 1000:
        raise ValueError("--snapshots must be between 2 and 1000.")
    dataset = load_dataset(args.dataset, args.data_dir)
    _say(
        f"training {kind} ({sizes_text(map_sizes(model_config)) if kind == 'simplecnn' else model_config.hidden}) on "
        f"{dataset.info.title} with {config.optimizer} (lr {config.lr:g}, {config.schedule}), "
        f"batch {config.batch_size}, {config.epochs} epochs, on {device} ({device_name(device)})"
    )
    interactive = sys.stderr.isatty()

    def on_batch(p: BatchProgress) -> None:
        if interactive and (p.batch % 10 == 0 or p.batch == p.batches):
            print(f"\repoch {p.epoch}/{p.epochs}  batch {p.batch}/{p.batches}  loss {p.loss:.4f}", end="", file=sys.stderr)

    def on_epoch(s: EpochStats) -> None:
        end = "\r" if interactive else ""
        _say(
            f"{end}epoch {s.epoch}/{config.epochs}  loss {s.loss:.4f}  accuracy {s.accuracy:.4f}  "
            f"test accuracy {s.test_accuracy:.4f}  ({s.seconds:.1f} s, {s.images_per_second:,.0f} images/s)"
        )

    replay, probe, wanted = None, None, set()
    if args.snapshots:
        from .snapshots import Probe, Replay, snapshot_steps, take

        replay, probe = Replay(limit=max(3, args.snapshots + config.epochs)), Probe.make(dataset, device)

    def on_step(trainer: Trainer) -> None:
        nonlocal wanted
        if replay is None:
            return
        if not wanted:
            wanted = snapshot_steps(trainer.total_steps, args.snapshots)
        step = trainer.steps_done
        if step in wanted or (trainer.batch == 0 and trainer.history) or trainer.done:
            epoch, batch = trainer.position
            fresh = trainer.history and trainer.position[1] == trainer.batches and trainer.last_test is not None
            replay.add(take(trainer.model, probe, step, epoch, batch, trainer.batch_losses[-1] if step else None, trainer.lr,
                            trainer.last_test.confusion if fresh else None))

    result = train(model_config, dataset, config, device=device, on_batch=on_batch, on_epoch=on_epoch, tensorboard_dir=args.tensorboard,
                   on_step=on_step)
    epochs = [
        {"epoch": s.epoch, "loss": s.loss, "accuracy": s.accuracy, "test_loss": s.test_loss,
         "test_accuracy": s.test_accuracy, "seconds": s.seconds}
        for s in result.history
    ]
    training = {"config": config.to_dict(), "epochs": epochs, "seconds": result.seconds, "device": device_name(device)}
    meta = make_meta(model_config, dataset.info, result.test_accuracy, training)
    save_checkpoint(result.model, out, meta)
    _say(f"test accuracy {result.test_accuracy:.4f} after {result.seconds:.1f} s; saved {out}")
    snapshots_file = None
    if replay is not None:
        from .snapshots import write_replay

        snapshots_file = write_replay(replay, probe, list(dataset.info.classes), out.with_name(f"{out.stem}.snapshots.json"))
        _say(f"{len(replay)} snapshots saved in {snapshots_file}")
    stored = None
    if args.save_run:
        from .store import NewRun

        store, desk, key = _cli_desk()
        snapshots_bytes = snapshots_file.read_bytes() if snapshots_file else None
        run, evicted = store.save_run(desk, key, NewRun(name=f"{kind} · {config.optimizer} {config.lr:g} · {config.epochs} epoch{'s' if config.epochs != 1 else ''}",
                                                        kind=kind, model=model_config.to_dict(),
                                                        settings={**config.to_dict(), "dataset": dataset.info.key}, history=epochs,
                                                        test_accuracy=result.test_accuracy, seconds=result.seconds, source="cli"),
                                      out.read_bytes(), snapshots_bytes)
        stored = run.id
        _say(f"kept in the run store as {run.id}" + (f" (removed to make room: {', '.join(evicted)})" if evicted else ""))
    return {
        "run": stored,
        "test_accuracy": result.test_accuracy,
        "seconds": result.seconds,
        "device": str(device),
        "device_name": device_name(device),
        "checkpoint": str(out),
        "model": model_config.to_dict(),
        "parameters": count_parameters(result.model),
        "dataset": dataset.info.key,
        "config": config.to_dict(),
        "epochs": epochs,
        "snapshots": str(snapshots_file) if snapshots_file else None,
    }


def _cli_desk():  # noqa: ANN202 - (RunStore, desk id, key)
    """The run store and the command line's own desk ("command line"), made once; its key kept in the cache folder."""
    from .paths import cache_dir
    from .store import RunStore, is_token

    store = RunStore()
    where = cache_dir() / "cli-desk.json"
    try:
        saved = json.loads(where.read_text())
        if is_token(saved.get("desk")) and store.owns(saved["desk"], saved.get("key")):
            return store, saved["desk"], saved["key"]
    except (OSError, ValueError, AttributeError):
        pass
    desk, key = store.new_desk("command line")
    where.write_text(json.dumps({"desk": desk, "key": key}))
    where.chmod(0o600)
    return store, desk, key


def _run_dict(run: Any, desk_name: str | None = None) -> dict[str, Any]:  # noqa: ANN401 - a StoredRun
    d = {"id": run.id, "desk": run.desk, "name": run.name, "kind": run.kind, "model": run.model, "settings": run.settings,
         "test_accuracy": run.test_accuracy, "seconds": run.seconds, "created": run.created, "source": run.source,
         "bytes": run.size, "snapshots": run.has_snapshots, "chosen": run.pinned, "history": run.history}
    if desk_name is not None:
        d["desk_name"] = desk_name
    return d


def cmd_serve(args: argparse.Namespace) -> dict[str, Any]:
    """Replicas behind nginx until Ctrl-C (see explainer/serve.py)."""
    from .serve import run as serve

    serve(args.replicas, args.port, args.host)
    return {"stopped": True}


def cmd_runs(args: argparse.Namespace) -> dict[str, Any]:
    """The run store from the command line: what the class board shows, one run's details, its checkpoint, deleting it."""
    from .store import RunStore

    store = RunStore()
    if args.action == "list":
        rows = [(r, store.desk(r.desk).name if store.desk(r.desk) else "") for r in store.runs(args.desk)] if args.desk \
            else store.board()
        if not args.json:
            for run, desk_name in rows:
                acc = f"{run.test_accuracy:.3f}" if run.test_accuracy is not None else "  —  "
                _say(f"{run.id}  {acc}  {run.seconds:6.1f} s  {run.kind:9s}  {desk_name[:20]:20s}  {run.name}")
            _say(f"{len(rows)} runs")
        return {"runs": [_run_dict(run, desk_name) for run, desk_name in rows]}
    if not args.run:
        raise ValueError(f"runs {args.action} needs a run id (see `python -m explainer runs list`).")
    run = store.run(args.run)
    if args.action == "show":
        if not args.json:
            _say(json.dumps(_run_dict(run), indent=2, ensure_ascii=False))
        return _run_dict(run)
    if args.action == "export":
        from .checkpoint import check_checkpoint_path

        out = check_checkpoint_path(args.out or f"{run.kind}-{run.id[:8]}.safetensors")
        data = store.checkpoint(run.id)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, out)
        _say(f"wrote {out} ({len(data):,} bytes)")
        return {"run": run.id, "checkpoint": str(out), "bytes": len(data)}
    store.delete_run(run.id, teacher=True)  # the command line is the server's own operator
    _say(f"deleted {run.id} ({run.name})")
    return {"deleted": run.id}


def cmd_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    from .checkpoint import load_checkpoint, load_shipped
    from .data import load_dataset
    from .evaluate import evaluation_report
    from .paths import SHIPPED_CHECKPOINT

    device = _device(args)
    ckpt = load_checkpoint(args.checkpoint, device) if args.checkpoint else load_shipped(device)
    dataset = load_dataset(args.dataset or ckpt.meta.dataset, args.data_dir)
    if len(dataset.info.classes) != ckpt.meta.model.num_classes:
        raise ValueError(
            f"The model has {ckpt.meta.model.num_classes} outputs but {dataset.info.key} has "
            f"{len(dataset.info.classes)} classes."
        )
    started = time.perf_counter()
    report = evaluation_report(ckpt.model, dataset.test_images, dataset.test_labels, (ckpt.meta.mean, ckpt.meta.std))
    result = report.result
    seconds = time.perf_counter() - started
    if not args.json:
        _say(f"{dataset.info.title}: test accuracy {result.accuracy:.4f}, test loss {result.loss:.4f} on {result.n} images")
    return {
        "checkpoint": str(args.checkpoint or SHIPPED_CHECKPOINT),
        "model": ckpt.meta.model.kind,
        "dataset": dataset.info.key,
        "test_accuracy": result.accuracy,
        "test_loss": result.loss,
        "n": result.n,
        "per_class_accuracy": result.per_class_accuracy(),
        "confusion": [list(r) for r in result.confusion],
        "mistakes": [{"index": m.index, "true": m.true, "predicted": m.predicted, "confidence": m.confidence} for m in report.mistakes],
        "device": str(device),
        "seconds": seconds,
    }


def _one_digit(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """The checkpoint asked for, one digit ready for it (``--image`` or test digit ``--index``), and what to report of both."""
    from .checkpoint import load_checkpoint, load_shipped
    from .data import load_dataset, normalize
    from .images import preprocess, read_image
    from .paths import shipped_checkpoint

    device = _device(args)
    ckpt = load_checkpoint(args.checkpoint, device) if args.checkpoint else load_shipped(device, args.model)
    meta = ckpt.meta
    out: dict[str, Any] = {"checkpoint": str(args.checkpoint or shipped_checkpoint(args.model)), "model": meta.model.kind}
    if args.image is not None:
        path = Path(args.image)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        digit = preprocess(read_image(data))
        x = digit.tensor((meta.mean, meta.std))
        out["image"] = str(path)
        out["inverted"] = digit.inverted
    else:
        dataset = load_dataset(meta.dataset, args.data_dir)
        index = 0 if args.index is None else args.index
        if not 0 <= index < len(dataset.test_labels):
            raise ValueError(f"--index must be from 0 to {len(dataset.test_labels) - 1} (the test digits of {meta.dataset}).")
        x = normalize(dataset.test_images[index : index + 1], (meta.mean, meta.std))
        out["index"] = index
        out["label"] = int(dataset.test_labels[index])
    return ckpt, x, out


def cmd_forward(args: argparse.Namespace) -> dict[str, Any]:
    from .forward import trace

    ckpt, x, out = _one_digit(args)
    meta = ckpt.meta
    result = trace(ckpt.model, x)
    out["classes"] = list(meta.classes)
    out["prediction"] = result.prediction
    out["probabilities"] = result.probabilities.tolist()
    out["stages"] = [
        {"name": s.name, "kind": s.kind, "layer": s.layer, "shape": list(s.shape), "min": s.min, "max": s.max}
        for s in result.stages
    ]
    if not args.json:
        for s in result.stages:
            print(f"{s.name:8s} {str(list(s.shape)):18s} min {s.min:9.4f}  max {s.max:9.4f}")
        label = f" (true label {meta.classes[out['label']]})" if "label" in out else ""
        print(f"prediction: {meta.classes[result.prediction]} with probability {float(result.probabilities.max()):.3f}{label}")
    return out


def cmd_overview(args: argparse.Namespace) -> dict[str, Any]:
    from .forward import trace
    from .overview import explain, explanation_dict, overview, parse_unit

    ckpt, x, out = _one_digit(args)
    result = trace(ckpt.model, x)
    view = overview(ckpt.model, result, list(ckpt.meta.classes))
    out.update(view.to_dict())
    if args.unit is not None:
        out["unit"] = explanation_dict(explain(ckpt.model, result, parse_unit(args.unit, result)))
    if not args.json:
        for c in view.columns:
            scale = f"{c.low:9.4f} … {c.high:9.4f}"
            more = f"  (drawn: the strongest {len(c.shown)}, + {c.hidden} more)" if c.hidden else ""
            print(f"{c.name:8s} {str(list(c.shape)):14s} colour scale {scale}{more}")
        print(f"prediction: {view.classes[view.prediction]} with probability {float(view.probabilities.max()):.3f}")
        if "unit" in out:
            print()
            _say_unit(out["unit"])
    return out


def _say_unit(unit: dict[str, Any]) -> None:
    """One unit's computation, as a student would write it down."""
    kind = unit["kind"]
    name = unit["unit"]
    if kind == "conv":
        sums = unit["channel_sums"]
        for c, s in enumerate(sums, 1):
            print(f"  input channel {c:2d}: Σ patch·kernel = {s:9.4f}")
        print(f"{name} = {' + '.join(f'({s:.4f})' for s in sums)} + bias ({unit['bias']:.4f}) = {unit['total']:.4f}")
    elif kind == "activation":
        print(f"{name} = {unit['function']}({unit['before']:.4f}) = {unit['total']:.4f}")
    elif kind == "pool":
        print(f"{name} = {unit['function']} of rows {unit['rows']}, columns {unit['cols']} of the previous map:")
        for row in unit["window"]:
            print("   " + " ".join(f"{v:8.4f}" for v in row))
        print(f"  = {unit['total']:.4f}")
    elif kind == "flatten":
        print(f"{name} = previous stage at {unit['source']} (map, row, column from 1) = {unit['total']:.4f}")
    elif kind == "linear":
        print(f"{name} = bias + Σ weight·x over {unit['inputs']} inputs; the largest terms:")
        for term in unit["top_terms"]:
            print(f"  input {term['input']:4d}: {term['weight']:8.4f} × {term['x']:8.4f} = {term['product']:9.4f}")
        print(f"  the other terms: {unit['rest']:.4f}; bias {unit['bias']:.4f}; total {unit['total']:.4f}")
    elif kind == "softmax":
        print(f"{name} = exp(z − {unit['shift']:.4f}) / {unit['sum']:.4f} = {unit['total']:.4f}")
    print(f"the network computed: {unit['network']:.4f}")


def cmd_walkthrough(args: argparse.Namespace) -> dict[str, Any]:
    from .stages import COURSE_INPUT, COURSE_KERNEL, ConvSettings, PoolSettings, fmt, grid_text, parse_grid_text, walkthrough

    x = parse_grid_text(args.input, "input") if args.input is not None else COURSE_INPUT
    kernel = parse_grid_text(args.kernel, "kernel", max_side=7) if args.kernel is not None else COURSE_KERNEL
    result = walkthrough(
        x,
        kernel,
        ConvSettings(args.stride, args.padding, args.dilation, args.bias),
        PoolSettings(args.pool, args.pool_kernel, args.pool_stride, args.pool_padding),
        fc_outputs=args.fc_outputs,
        fc_seed=args.fc_seed,
        temperature=args.temperature,
    )
    if not args.json:
        vec = lambda t: " ".join(fmt(v) for v in t.tolist())  # noqa: E731
        print(f"input:\n{grid_text(result.conv.input)}\nkernel:\n{grid_text(result.conv.kernel)}")
        print(f"conv ({result.conv.steps} steps):\n{grid_text(result.conv.output)}")
        print(f"relu:\n{grid_text(result.relu.output)}")
        print(f"{args.pool} pool:\n{grid_text(result.pool.output)}")
        print(f"flatten: {vec(result.flatten.vector)}")
        print(f"fc W:\n{grid_text(result.fc.weight)}\nfc b: {vec(result.fc.bias)}\nfc output (logits): {vec(result.fc.output)}")
        print(f"softmax: {vec(result.softmax.probabilities)}")
    return result.to_json()


def cmd_softmax(args: argparse.Namespace) -> dict[str, Any]:
    from .stages import cross_entropy, fmt, hinge, softmax
    from .stages.grid import nested

    result = softmax(args.logits, args.temperature)
    out: dict[str, Any] = {
        "logits": nested(result.logits),
        "temperature": result.temperature,
        "shifted": nested(result.shifted),
        "exp": nested(result.exps),
        "sum": result.total,
        "probabilities": nested(result.probabilities),
        "log_probabilities": nested(result.log_probabilities),
        "naive_overflows": result.naive_fails,
    }
    if args.target is not None:  # both from the logits z: cross-entropy divides by T itself, the hinge never does
        h = hinge(result.logits, args.target, args.margin)
        out["cross_entropy"] = cross_entropy(result.logits, args.target, temperature=result.temperature).loss
        out["hinge"] = h.loss
        out["margin"] = h.margin
    if not args.json:
        print("probabilities: " + " ".join(fmt(p, 4) for p in out["probabilities"]))
        if "cross_entropy" in out:
            print(f"cross-entropy: {fmt(out['cross_entropy'], 4)}   hinge (margin {fmt(out['margin'])}): {fmt(out['hinge'], 4)}")
    return out


def cmd_saliency(args: argparse.Namespace) -> dict[str, Any]:
    from .saliency import SETTINGS, attribute, class_probabilities

    ckpt, x, out = _one_digit(args)
    meta = ckpt.meta
    probabilities = class_probabilities(ckpt.model, x)
    prediction = int(probabilities.argmax())
    target = prediction if args.target is None else args.target
    settings = {s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name) is not None}
    result = attribute(ckpt.model, x, args.method, target, normalization=(meta.mean, meta.std), **settings)
    out.update({"method": result.method, "target": result.target, "prediction": prediction, "classes": list(meta.classes),
                "probabilities": probabilities.tolist(), "kind": result.kind, "settings": dict(result.settings),
                "attribution": result.map.tolist(), "seconds": result.seconds})
    if result.convergence_delta is not None:
        out["convergence_delta"], out["score_change"] = result.convergence_delta, result.score_change
    if result.coarse is not None:
        out["coarse"] = result.coarse.tolist()
    if not args.json:
        print(_text_map(result.map, result.signed))
        delta = f", convergence delta {result.convergence_delta:.4g}" if result.convergence_delta is not None else ""
        print(f"{result.method} for class {meta.classes[target]} (predicted {meta.classes[prediction]}): "
              f"{result.kind} map, {result.seconds * 1000:.1f} ms{delta}")
    return out


def _text_map(values: Any, signed: bool) -> str:
    """A map in characters: '+' / '-' for strong positive / negative pixels (signed), or shades of '.:*#' (absolute)."""
    bound = float(values.abs().max()) or 1.0
    rows = []
    for row in (values / bound).tolist():
        if signed:
            rows.append("".join("+" if v > 0.25 else "-" if v < -0.25 else "·" if abs(v) > 0.05 else " " for v in row))
        else:
            rows.append("".join(" .:*#"[min(4, int(v * 5))] for v in row))
    return "\n".join(rows)


def cmd_descent(args: argparse.Namespace) -> dict[str, Any]:
    from .descent import get_function, trajectory

    function = get_function(args.function, args.condition)
    run = trajectory(function, args.optimizer, args.lr, args.steps, args.start)
    out = run.to_json()
    out["minimum"] = function.minimum
    if args.function == "quadratic":
        out["condition"] = args.condition
    out["message"] = run.message().render("en")
    if run.diverged:
        _say(f"warning: {out['message']}")
    if not args.json:
        for k, (point, loss) in enumerate(zip(run.points.tolist(), run.losses.tolist())):
            print(f"step {k:4d}  {' '.join(f'{v:12.6g}' for v in point)}   loss {loss:.6g}")
        print(out["message"])
    return out


def cmd_landscape(args: argparse.Namespace) -> dict[str, Any]:
    from .checkpoint import load_checkpoint, load_shipped
    from .data import load_dataset
    from .landscape import Plane, check_grid, fixed_batch, loss_grid, random_directions
    from .paths import shipped_checkpoint

    check_grid(args.grid, args.span)
    device = _device(args)
    ckpt = load_checkpoint(args.checkpoint, device) if args.checkpoint else load_shipped(device, args.model)
    meta = ckpt.meta
    dataset = load_dataset(meta.dataset, args.data_dir)
    started = time.perf_counter()
    batch = fixed_batch(dataset.test_images, dataset.test_labels, args.batch, (meta.mean, meta.std))
    directions = random_directions(ckpt.model, args.seed)
    plane = Plane(ckpt.model, batch.images, batch.labels, directions.d1, directions.d2)
    interactive = sys.stderr.isatty()
    grid = loss_grid(plane, args.grid, args.span,
                     on_progress=(lambda f: print(f"\r{f:4.0%}", end="", file=sys.stderr)) if interactive else None)
    seconds = time.perf_counter() - started
    if interactive:
        print(file=sys.stderr)
    out = {
        "checkpoint": str(args.checkpoint or shipped_checkpoint(args.model)),
        "model": meta.model.kind,
        "grid": args.grid,
        "span": args.span,
        "batch": len(batch.labels),
        "seed": directions.seed,
        "alphas": grid.alphas.tolist(),
        "betas": grid.betas.tolist(),
        "loss": grid.loss.tolist(),
        "accuracy": grid.accuracy.tolist(),
        "center_loss": grid.center_loss,
        "center_accuracy": grid.center_accuracy,
        "method": grid.method,
        "device": str(device),
        "seconds": seconds,
    }
    if not args.json:
        print(f"{meta.model.kind}: {args.grid}×{args.grid} grid over ±{args.span:g} on {len(batch.labels)} test digits "
              f"in {seconds:.2f} s; loss at the trained weights {grid.center_loss:.4f}, "
              f"lowest {float(grid.loss.min()):.4f}, highest {float(grid.loss.max()):.4g}")
    return out


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
