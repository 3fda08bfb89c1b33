"""``lincah face verify``, ``lincah face bench`` and ``lincah face-worker``.

This module is imported by ``lincah.cli`` for every command: the face pipeline (torch,
dlib) is imported only inside the commands that need it.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.settings import Settings, get_settings

if TYPE_CHECKING:
    import numpy as np

    from face.pipeline import FacePipeline

EXIT_MATCH, EXIT_NO_MATCH, EXIT_UNUSABLE = 0, 1, 2


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    face = sub.add_parser("face", help="face verification: verify two photos, benchmark")
    fsub = face.add_subparsers(dest="face_command", required=True)
    v = fsub.add_parser(
        "verify",
        help="are two photos the same person? exit 0 match, 1 no match, 2 unusable image",
    )
    v.add_argument("image_a", type=Path)
    v.add_argument("image_b", type=Path)
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.add_argument("--backend", choices=["facenet", "dlib"], help="default: from settings")
    v.set_defaults(func=cmd_verify)
    b = fsub.add_parser(
        "bench", help="accuracy, false accepts/rejects and latency on a CSV of labelled pairs"
    )
    b.add_argument("pairs", type=Path, help="CSV with columns image_a,image_b,label")
    b.add_argument("--root", type=Path, help="folder the image paths are relative to")
    b.add_argument("--backend", choices=["facenet", "dlib"], help="default: every available")
    b.set_defaults(func=cmd_bench)
    c = fsub.add_parser(
        "calibrate",
        help="choose the threshold for a false-accept target on augmented photos",
    )
    c.add_argument("root", type=Path, help="folder with one subfolder of photos per person")
    c.add_argument(
        "--target-far",
        type=float,
        default=0.0001,
        help="share of different-person pairs that may match (default 0.0001: 0.01%%, "
        "the operating point in the README)",
    )
    c.add_argument("--backend", choices=["facenet", "dlib"], help="default: from settings")
    c.set_defaults(func=cmd_calibrate)
    sub.add_parser(
        "face-worker", help="run the face worker (face verification activities)"
    ).set_defaults(func=cmd_face_worker)


# verify -------------------------------------------------------------------------------
def cmd_verify(args: argparse.Namespace) -> int:
    return verify(get_settings(), args.image_a, args.image_b, args.backend, args.json)


def verify(
    settings: Settings, image_a: Path, image_b: Path, backend: str | None, as_json: bool
) -> int:
    from face.backends import BackendUnavailable
    from face.imaging import UnusableImage
    from face.pipeline import get_pipeline

    try:
        photos = [image_a.read_bytes(), image_b.read_bytes()]
    except OSError as e:
        print(f"lincah face verify: cannot read {e.filename}: {e.strerror}", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        pipeline = get_pipeline(settings, backend)
    except BackendUnavailable as e:
        print(f"lincah face verify: {e}", file=sys.stderr)
        return EXIT_UNUSABLE
    pending = [pipeline.submit(p) for p in photos]  # one batch
    embeddings = []
    for path, future in zip((image_a, image_b), pending, strict=True):
        try:
            embeddings.append(future.result().embedding)
        except UnusableImage as e:
            reason = f"{path}: {e.reason}"
            if as_json:
                _print_json(None, None, pipeline.threshold, pipeline.name, reason, e.code)
            else:
                print(f"unusable image: {reason}")
            return EXIT_UNUSABLE
    a, b = embeddings
    assert a is not None and b is not None
    verdict = pipeline.compare(a, b)
    reason = "same person" if verdict.match else "different people"
    if as_json:
        _print_json(verdict.match, verdict.distance, verdict.threshold, verdict.backend, reason)
    else:
        print(f"match:     {'yes' if verdict.match else 'no'}")
        print(f"distance:  {verdict.distance:.4f}")
        print(f"threshold: {verdict.threshold:.4f}")
        print(f"backend:   {verdict.backend}")
    return EXIT_MATCH if verdict.match else EXIT_NO_MATCH


def _print_json(
    match: bool | None,
    distance: float | None,
    threshold: float,
    backend: str,
    reason: str,
    code: str = "",
) -> None:
    out: dict[str, Any] = {
        "match": match,
        "distance": distance,
        "threshold": threshold,
        "backend": backend,
        "reason": reason,
    }
    if code:
        out["code"] = code
    print(json.dumps(out))


# bench --------------------------------------------------------------------------------
@dataclass
class Pair:
    image_a: str
    image_b: str
    same: bool


@dataclass
class BenchResult:
    backend: str
    threshold: float
    pairs: int = 0
    correct: int = 0
    false_accepts: int = 0
    false_rejects: int = 0
    unusable: int = 0
    same_pairs: int = 0
    different_pairs: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    same_distances: list[float] = field(default_factory=list)
    different_distances: list[float] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.pairs if self.pairs else 0.0

    @property
    def far(self) -> float:
        return self.false_accepts / self.different_pairs if self.different_pairs else 0.0

    @property
    def frr(self) -> float:
        return self.false_rejects / self.same_pairs if self.same_pairs else 0.0

    def latency(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        cuts = statistics.quantiles(self.latencies_ms, n=100, method="inclusive")
        return cuts[round(q * 100) - 1]


def read_pairs(path: Path) -> list[Pair]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = {"image_a", "image_b", "label"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path} lacks the column(s) {', '.join(sorted(missing))}")
        pairs = []
        for n, row in enumerate(reader, start=2):
            label = (row["label"] or "").strip().lower()
            if label not in ("same", "different"):
                raise ValueError(f"{path}:{n}: label must be same or different, not {label!r}")
            pairs.append(Pair(row["image_a"].strip(), row["image_b"].strip(), label == "same"))
    return pairs


def bench_backend(
    pipeline: FacePipeline, pairs: list[Pair], photos: dict[str, bytes]
) -> BenchResult:
    """Each pair as the service runs it: image_a is the enrolment (embedded beforehand,
    not timed); the timed verification is image_b from its bytes (decode, detect,
    gates, align, embed) compared with it."""
    from face.imaging import UnusableImage

    result = BenchResult(backend=pipeline.name, threshold=pipeline.threshold)
    enrolled: dict[str, np.ndarray | None] = {}
    for name in {p.image_a for p in pairs}:
        try:
            enrolled[name] = pipeline.embed(photos[name]).embedding
        except UnusableImage:
            enrolled[name] = None
    for pair in pairs:
        result.pairs += 1
        if pair.same:
            result.same_pairs += 1
        else:
            result.different_pairs += 1
        reference = enrolled[pair.image_a]
        match = False
        started = time.perf_counter()
        try:
            probe = pipeline.embed(photos[pair.image_b]).embedding
        except UnusableImage:
            probe = None
        if reference is not None and probe is not None:
            verdict = pipeline.compare(reference, probe)
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            match = verdict.match
            (result.same_distances if pair.same else result.different_distances).append(
                verdict.distance
            )
        else:
            result.unusable += 1
        if match == pair.same:
            result.correct += 1
        elif match:
            result.false_accepts += 1
        else:
            result.false_rejects += 1
    return result


def cmd_bench(args: argparse.Namespace) -> int:
    return bench(get_settings(), args.pairs, args.root, args.backend)


def bench(settings: Settings, pairs_csv: Path, root: Path | None, backend: str | None) -> int:
    from face import backends
    from face.pipeline import get_pipeline

    try:
        pairs = read_pairs(pairs_csv)
    except (OSError, ValueError) as e:
        print(f"lincah face bench: {e}", file=sys.stderr)
        return 2
    root = root or pairs_csv.parent
    photos: dict[str, bytes] = {}
    for name in sorted({p.image_a for p in pairs} | {p.image_b for p in pairs}):
        try:
            photos[name] = (root / name).read_bytes()
        except OSError as e:
            print(f"lincah face bench: cannot read {root / name}: {e.strerror}", file=sys.stderr)
            return 2
    why = backends.unavailable(settings)
    names = [backend] if backend else list(backends.BACKENDS)
    results: list[BenchResult] = []
    for name in names:
        if name in why:
            print(f"{name}: not available: {why[name]}")
            continue
        pipeline = get_pipeline(settings, name)
        pipeline.embed(photos[pairs[0].image_a])  # warm up: first-call allocations
        results.append(bench_backend(pipeline, pairs, photos))
    if not results:
        print("lincah face bench: no backend is available", file=sys.stderr)
        return 2
    print()
    print(
        f"{len(pairs)} pairs ({sum(p.same for p in pairs)} same, "
        f"{sum(not p.same for p in pairs)} different) from {pairs_csv}"
    )
    print()
    print(
        "| backend | threshold | accuracy | false accepts (FAR) | false rejects (FRR) | "
        "unusable | median ms | p95 ms |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(
            f"| {r.backend} | {r.threshold:.3f} | {r.accuracy:.1%} | "
            f"{r.false_accepts}/{r.different_pairs} ({r.far:.1%}) | "
            f"{r.false_rejects}/{r.same_pairs} ({r.frr:.1%}) | {r.unusable} | "
            f"{r.latency(0.5):.0f} | {r.latency(0.95):.0f} |"
        )
    print()
    for r in results:
        if r.same_distances and r.different_distances:
            print(
                f"{r.backend}: same-person distances {min(r.same_distances):.4f} to "
                f"{max(r.same_distances):.4f}, different-person "
                f"{min(r.different_distances):.4f} to {max(r.different_distances):.4f}"
            )
    return 0


# calibrate ------------------------------------------------------------------------------
def cmd_calibrate(args: argparse.Namespace) -> int:
    return calibrate(get_settings(), args.root, args.target_far, args.backend)


def calibrate(settings: Settings, root: Path, target_far: float, backend: str | None) -> int:
    import hashlib

    import numpy as np

    from face import calibration
    from face.backends import BackendUnavailable
    from face.imaging import UnusableImage
    from face.pipeline import get_pipeline

    if not 0 < target_far < 1:
        print("lincah face calibrate: --target-far must be between 0 and 1", file=sys.stderr)
        return 2
    try:
        people = calibration.identities(root)
        pipeline = get_pipeline(settings, backend)
    except OSError as e:
        print(f"lincah face calibrate: cannot read {root}: {e.strerror}", file=sys.stderr)
        return 2
    except BackendUnavailable as e:
        print(f"lincah face calibrate: {e}", file=sys.stderr)
        return 2
    if len(people) < 2:
        print(f"lincah face calibrate: {root} holds fewer than two people", file=sys.stderr)
        return 2
    # Descriptors are cached by the image's hash: a rerun (another target) takes seconds.
    cache_path = settings.var_dir / f"face-calibration-{pipeline.name}.npz"
    cache: dict[str, np.ndarray] = {}
    if cache_path.is_file():
        with np.load(cache_path) as saved:
            cache = {k: saved[k] for k in saved.files}
    samples: list[calibration.Sample] = []
    started = time.perf_counter()
    for identity, photos in people.items():
        for path in photos:
            for name, data in calibration.augmented(path.read_bytes()).items():
                key = hashlib.sha256(data).hexdigest()
                if key not in cache:
                    try:
                        embedding = pipeline.embed(data).embedding
                        assert embedding is not None
                        cache[key] = embedding
                    except UnusableImage:
                        cache[key] = np.zeros(0, dtype=np.float32)
                vec = cache[key]
                samples.append(
                    calibration.Sample(identity, str(path), name, vec if vec.size else None)
                )
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    np.savez(cache_path, **cache)  # type: ignore[arg-type]
    result = calibration.calibrate(samples, target_far)
    rows = calibration.per_augmentation(samples, result.threshold)
    n_photos = sum(len(p) for p in people.values())
    print(
        f"{len(people)} people, {n_photos} photos, {len(samples)} images "
        f"({len(calibration.AUGMENTATIONS)} augmentations each), backend {pipeline.name}, "
        f"{time.perf_counter() - started:.0f} s"
    )
    print(
        f"chosen on {result.same.size} same-person and {result.different.size} "
        f"different-person pairs (each with at least one changed photo)"
    )
    print()
    print(
        f"threshold for a false-accept rate of at most {target_far:.2%}: "
        f"{result.threshold:.3f} (FAR {result.far:.3%}, FRR {result.frr:.2%}; "
        f"configured now: {pipeline.threshold:.3f})"
    )
    print(
        f"same-person distances {result.same.min():.4f} to {result.same.max():.4f}, "
        f"different-person {result.different.min():.4f} to {result.different.max():.4f}"
    )
    print()
    print(f"each augmentation at {result.threshold:.3f} (enrolment: another unchanged photo):")
    print()
    print("| selfie | pairs | accuracy | false accepts (FAR) | false rejects (FRR) | unusable |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        far = r.false_accepts / r.different if r.different else 0.0
        frr = r.false_rejects / r.same if r.same else 0.0
        print(
            f"| {r.augmentation} | {r.same + r.different} | {r.accuracy:.1%} | "
            f"{r.false_accepts}/{r.different} ({far:.1%}) | "
            f"{r.false_rejects}/{r.same} ({frr:.1%}) | {r.unusable} |"
        )
    return 0


# face-worker -----------------------------------------------------------------------------
def cmd_face_worker(_: argparse.Namespace) -> int:
    from face.backends import BackendUnavailable
    from lincah.face_worker import run_face_worker

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_face_worker(get_settings(), stop)

    try:
        asyncio.run(main())
    except BackendUnavailable as e:
        print(f"lincah face-worker: {e}", file=sys.stderr)
        return 2
    return 0
