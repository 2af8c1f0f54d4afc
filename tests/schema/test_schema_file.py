"""schema.graphql is the committed contract: it must match the code, and hold DESIGN.md's names."""

import subprocess
import sys
from pathlib import Path

import pytest

from schema.export import sdl
from tests.conftest import SHARED

ROOT = Path(__file__).resolve().parents[2]


def test_schema_file_matches_the_code():
    assert (ROOT / "schema.graphql").read_text() == sdl(), "schema.graphql is stale: run `make schema`"


def test_schema_holds_the_public_contract():
    check = SHARED / "checks" / "contract.py"
    if not check.exists():
        pytest.skip("shared/ is not beside this checkout")
    result = subprocess.run([sys.executable, str(check), str(ROOT / "schema.graphql")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
