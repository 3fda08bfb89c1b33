"""The face pipeline: decode → detect (facenet-pytorch's MTCNN) → quality gates →
align and embed (the backend) → cosine distance against the backend's threshold.

Models load once per process (:func:`get_pipeline`). All inference runs on one thread
that takes the requests waiting for it as one batch: images that arrive together share
one MTCNN pass and one embedding pass. Nothing here logs or keeps an image or an
embedding.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from PIL import Image

from config.settings import Settings
from face import backends, imaging
from face.backends import EmbeddingBackend, Face
from face.imaging import UnusableImage
from face.replay import Fingerprint, fingerprint
from face.selection import Gates, select_face

log = logging.getLogger(__name__)

DETECT_SIDE: Final = 640
"""Detection runs on a copy reduced to this longest side; boxes are mapped back."""
MIN_FACE_SHARE: Final = 0.1
"""Faces under this share of the photo's shorter side are not looked for at all (people
far behind the citizen)."""


@dataclass(frozen=True)
class Analysis:
    face: Face
    embedding: np.ndarray | None
    fingerprint: Fingerprint | None = None
    """The photo's hashes, to recognise it again (``face.replay``)."""


@dataclass(frozen=True)
class Verdict:
    match: bool
    distance: float
    threshold: float
    backend: str


class Detector:
    """MTCNN over a batch: each image is reduced to :data:`DETECT_SIDE` and placed on a
    shared canvas, so one pass serves every image."""

    def __init__(self) -> None:
        from facenet_pytorch import MTCNN

        self._mtcnn: Any = MTCNN(keep_all=True, select_largest=True, device="cpu")
        self._lock = threading.Lock()  # pipelines of two backends may share it

    def detect(self, images: Sequence[Image.Image]) -> list[list[Face]]:
        if not images:
            return []
        scales = [min(1.0, DETECT_SIDE / max(img.size)) for img in images]
        small = [
            img.resize((max(1, round(img.width * s)), max(1, round(img.height * s))))
            if s < 1
            else img
            for img, s in zip(images, scales, strict=True)
        ]
        height = max(img.height for img in small)
        width = max(img.width for img in small)
        canvas = np.zeros((len(small), height, width, 3), dtype=np.uint8)
        for i, img in enumerate(small):
            canvas[i, : img.height, : img.width] = np.asarray(img)
        smallest = [max(20, int(min(img.size) * MIN_FACE_SHARE)) for img in small]
        with self._lock:
            self._mtcnn.min_face_size = min(smallest)
            boxes, probs, points = self._mtcnn.detect(canvas, landmarks=True)
        found: list[list[Face]] = []
        for i, s in enumerate(scales):
            if boxes[i] is None:
                found.append([])
                continue
            faces = []
            for box, prob, pts in zip(boxes[i], probs[i], points[i], strict=True):
                if min(box[2] - box[0], box[3] - box[1]) < smallest[i]:
                    continue  # as if this image had been alone in its batch
                x1, y1, x2, y2 = (float(v) / s for v in box)
                faces.append(
                    Face(
                        box=(x1, y1, x2, y2),
                        probability=float(prob),
                        landmarks=tuple((float(x) / s, float(y) / s) for x, y in pts),
                    )
                )
            found.append(faces)
        return found


@dataclass
class _Job:
    data: bytes
    embed: bool
    future: Future[Analysis]


class FacePipeline:
    def __init__(
        self,
        backend: EmbeddingBackend,
        detector: Detector | None = None,
        gates: Gates | None = None,
        max_batch: int = 8,
        window_s: float = 0.002,
    ) -> None:
        self.backend = backend
        self.detector = detector or Detector()
        self.gates = gates or Gates()
        self.max_batch = max_batch
        self.window_s = window_s
        self.batch_sizes: list[int] = []
        """Size of every batch run so far (a diagnostic the tests read)."""
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._serve, name="face-inference", daemon=True)
        self._thread.start()

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def threshold(self) -> float:
        return self.backend.threshold

    # Requests (any thread) --------------------------------------------------------
    def submit(self, data: bytes, embed: bool = True) -> Future[Analysis]:
        job = _Job(data, embed, Future())
        self._queue.put(job)
        return job.future

    def embed(self, data: bytes) -> Analysis:
        """Decode, detect, gate, align and embed one photo; raises UnusableImage."""
        return self.submit(data).result()

    def inspect(self, data: bytes) -> Face:
        """Decode, detect and gate only: is this photo usable?"""
        return self.submit(data, embed=False).result().face

    def compare(self, enrolled: np.ndarray, probe: np.ndarray) -> Verdict:
        distance = backends.cosine_distance(enrolled, probe)
        return Verdict(
            match=distance <= self.threshold,
            distance=round(distance, 4),
            threshold=self.threshold,
            backend=self.name,
        )

    def verify(self, a: bytes, b: bytes) -> Verdict:
        """Two photos, one person? Both go into the same batch."""
        fa, fb = self.submit(a), self.submit(b)
        ea, eb = fa.result().embedding, fb.result().embedding
        assert ea is not None and eb is not None
        return self.compare(ea, eb)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(10)

    # The inference thread ---------------------------------------------------------
    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            deadline = time.monotonic() + self.window_s
            while len(jobs) < self.max_batch:
                try:
                    job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if job is None:
                    self._queue.put(None)  # stop after this batch
                    break
                jobs.append(job)
            self._run(jobs)

    def _run(self, jobs: list[_Job]) -> None:
        self.batch_sizes.append(len(jobs))
        try:
            results = self.analyse([(j.data, j.embed) for j in jobs])
        except Exception as e:  # a bug or a broken model: every waiting request hears it
            log.exception("face inference failed for a batch of %d", len(jobs))
            for j in jobs:
                j.future.set_exception(e)
            return
        for j, r in zip(jobs, results, strict=True):
            if isinstance(r, UnusableImage):
                j.future.set_exception(r)
            else:
                j.future.set_result(r)

    def analyse(self, items: Sequence[tuple[bytes, bool]]) -> list[Analysis | UnusableImage]:
        """The batch itself, on the calling thread."""
        results: list[Analysis | UnusableImage | None] = [None] * len(items)
        decoded: list[tuple[int, Image.Image]] = []
        for i, (data, _) in enumerate(items):
            try:
                decoded.append((i, imaging.decode(data)))
            except UnusableImage as e:
                results[i] = e
        detections = self.detector.detect([img for _, img in decoded])
        to_embed: list[tuple[int, Image.Image, Face]] = []
        for (i, img), faces in zip(decoded, detections, strict=True):
            try:
                face = select_face(faces, self.gates, img)
            except UnusableImage as e:
                results[i] = e
                continue
            if items[i][1]:
                to_embed.append((i, img, face))
            else:
                results[i] = Analysis(face=face, embedding=None)
        if to_embed:
            vectors = self.backend.embed([(img, face) for _, img, face in to_embed])
            for (i, img, face), vec in zip(to_embed, vectors, strict=True):
                results[i] = Analysis(face, vec, fingerprint(items[i][0], img))
        done = [r for r in results if r is not None]
        assert len(done) == len(items)
        return done


_pipelines: dict[tuple[str, str, float], FacePipeline] = {}
_lock = threading.Lock()
_detector: Detector | None = None


def get_pipeline(settings: Settings, backend: str | None = None) -> FacePipeline:
    """This process's pipeline for a backend (default: the configured choice); models
    load on the first call and are shared after."""
    global _detector
    name = backend or backends.choose(settings)
    key = (name, str(backends.facenet_weights(settings)), backends.threshold_of(settings, name))
    with _lock:
        if key not in _pipelines:
            started = time.perf_counter()
            if _detector is None:
                _detector = Detector()
            _pipelines[key] = FacePipeline(backends.load(settings, name), _detector)
            log.info("face backend %s loaded in %.1f s", name, time.perf_counter() - started)
        return _pipelines[key]
