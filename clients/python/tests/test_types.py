"""The package and its tests type-check under mypy --strict (the settings in pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_strict() -> None:
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(ROOT / ".mypy_cache"), str(ROOT / "src"), str(ROOT / "tests")])
    assert status == 0, stdout + stderr
