"""The package is typed (py.typed): its sources pass mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_package_passes_mypy_strict() -> None:
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", "/dev/null"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
