"""The import-linter contract "The sandbox's AWS plays AWS on its own" covers every module the sandbox's AWS
is made of, so a module split off (or added) cannot escape it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def test_the_sandboxs_aws_is_all_under_its_contract() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    contract = next(c for c in contracts if c["name"].startswith("The sandbox's AWS plays AWS on its own"))
    covered = contract["source_modules"]
    graph = grimp.build_graph("controller")
    parts = {"controller.sandbox.aws"} | {m for m in graph.find_upstream_modules("controller.sandbox.aws")
                                          if m.startswith("controller.sandbox.")}
    assert len(parts) > 10  # the middleware, the Organizations rules, the Account API, STS, IAM, logging...
    assert sorted(m for m in parts if not any(m == c or m.startswith(c + ".") for c in covered)) == []
