"""``lincah face verify`` and ``lincah face bench``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from config.settings import Settings
from lincah import face_cli
from tests.face.conftest import FACES, needs_face_extra, needs_faces

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [needs_face_extra, needs_faces]


def verify(tmp_path, a: str, b: str, capsys, as_json: bool = True) -> tuple[int, str]:
    settings = Settings(var_dir=tmp_path, face_backend="dlib")
    code = face_cli.verify(settings, FACES / a, FACES / b, None, as_json)
    return code, capsys.readouterr().out


def test_verify_exit_codes_and_output(tmp_path, capsys, dlib_pipeline):
    code, out = verify(tmp_path, "obama/obama1.jpg", "obama/obama2.jpg", capsys)
    body = json.loads(out)
    assert code == 0 and body["match"] is True and body["backend"] == "dlib"
    assert body["distance"] <= body["threshold"]

    code, out = verify(tmp_path, "obama/obama1.jpg", "biden/biden1.jpg", capsys, as_json=False)
    assert code == 1
    assert "match:     no" in out and "threshold: 0.0820" in out and "backend:   dlib" in out

    code, out = verify(tmp_path, "obama/obama1.jpg", "multiple_faces/two_people.jpg", capsys)
    body = json.loads(out)
    assert code == 2 and body["match"] is None and body["code"] == "several_faces"
    assert "two_people.jpg" in body["reason"] and "2 faces" in body["reason"]

    code, out = verify(tmp_path, "obama/obama1.jpg", "no/such.jpg", capsys)
    assert code == 2


def test_the_command_line_exits_with_the_verdict(tmp_path):
    env = {**os.environ, "LINCAH_VAR_DIR": str(tmp_path), "LINCAH_FACE_BACKEND": "dlib"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "lincah.cli",
            "face",
            "verify",
            "--json",
            str(FACES / "kit_harington" / "kit1.jpg"),
            str(FACES / "rose_leslie" / "rose1.jpg"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert json.loads(run.stdout)["match"] is False


def test_bench_reports_accuracy_error_rates_and_latency(tmp_path, capsys, dlib_pipeline):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "image_a,image_b,label\n"
        "obama/obama1.jpg,obama/obama2.jpg,same\n"
        "obama/obama1.jpg,biden/biden1.jpg,different\n"
        "obama/obama1.jpg,multiple_faces/two_people.jpg,different\n"
    )
    code = face_cli.bench(Settings(var_dir=tmp_path), pairs, FACES, None)
    out = capsys.readouterr().out
    assert code == 0
    assert "3 pairs (1 same, 2 different)" in out
    row = next(line for line in out.splitlines() if line.startswith("| dlib |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "100.0%"  # the two-face photo is unusable: no match, rightly
    assert cells[3] == "0/2 (0.0%)" and cells[4] == "0/1 (0.0%)" and cells[5] == "1"
    assert float(cells[6]) > 0 and float(cells[7]) >= float(cells[6])
    assert "facenet: not available" in out or "| facenet |" in out


def test_bench_refuses_a_bad_csv(tmp_path, capsys):
    bad = tmp_path / "pairs.csv"
    bad.write_text("a,b\nx,y\n")
    assert face_cli.bench(Settings(var_dir=tmp_path), bad, None, None) == 2
    assert "lacks the column(s) image_a, image_b, label" in capsys.readouterr().err
    bad.write_text("image_a,image_b,label\nx,y,maybe\n")
    assert face_cli.bench(Settings(var_dir=tmp_path), bad, None, None) == 2
    assert "same or different" in capsys.readouterr().err


def test_the_threshold_is_chosen_for_the_false_accept_target_not_accuracy():
    import numpy as np

    from face.calibration import choose_threshold

    different = np.array([0.30, 0.12, 0.095, 0.2] + [0.5] * 996)  # 1,000 pairs
    assert choose_threshold(different, 0.0001) == 0.094  # no false accept: under 0.095
    assert choose_threshold(different, 0.002) == 0.199  # 0.095 and 0.12 allowed, not 0.2
    assert choose_threshold(np.array([0.1, 0.2]), 0.0001) == 0.099


def test_calibrate_reports_each_augmentation_and_caches_descriptors(
    tmp_path, capsys, dlib_pipeline
):
    root = tmp_path / "people"
    for person, names in {"obama": ["obama1.jpg", "obama2.jpg"], "biden": ["biden1.jpg"]}.items():
        (root / person).mkdir(parents=True)
        for name in names:
            (root / person / name).write_bytes((FACES / person / name).read_bytes())
    settings = Settings(var_dir=tmp_path / "var", face_backend="dlib")
    assert face_cli.calibrate(settings, root, 0.0001, "dlib") == 0
    out = capsys.readouterr().out
    assert "2 people, 3 photos, 39 images (12 augmentations each)" in out
    assert "threshold for a false-accept rate of at most 0.01%:" in out
    rows = [line for line in out.splitlines() if line.startswith("| ")][2:]
    assert [r.split("|")[1].strip() for r in rows][:3] == ["original", "jpeg q30", "jpeg q50"]
    assert len(rows) == 13
    assert (tmp_path / "var" / "face-calibration-dlib.npz").is_file()
    # The rerun embeds nothing: the same table from the cache.
    assert face_cli.calibrate(settings, root, 0.0001, "dlib") == 0
    assert [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][
        2:
    ] == rows
    assert face_cli.calibrate(settings, root / "obama", 0.0001, "dlib") == 2
