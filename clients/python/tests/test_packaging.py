"""pyproject.toml builds with every setuptools its build-system accepts (pip install ./clients/python)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))

#: The first setuptools that reads project.license as a license expression (PEP 639); older ones
#: stop with "`project.license` must be valid exactly by one definition".
LICENSE_EXPRESSION_SETUPTOOLS = 77


def test_a_license_expression_asks_for_a_setuptools_that_reads_it() -> None:
    assert isinstance(PYPROJECT["project"]["license"], str)
    (requirement,) = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=([0-9]+)(?:\.[0-9]+)*", requirement)
    assert minimum is not None, requirement
    assert int(minimum.group(1)) >= LICENSE_EXPRESSION_SETUPTOOLS
