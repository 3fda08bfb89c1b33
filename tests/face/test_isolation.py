"""The application worker, the API and the `lincah` command never import torch or dlib:
only the face worker does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_main_processes_do_not_import_the_face_models():
    code = (
        "import sys, lincah.worker, api.main, lincah.cli, lincah.up\n"
        "heavy = [m for m in ('torch', 'dlib', 'facenet_pytorch', 'torchvision') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
