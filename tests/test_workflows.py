"""The GitHub workflows: valid for GitHub (offline schema lint) and doing what the README promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def lint(*paths: Path) -> subprocess.CompletedProcess:
    """check-jsonschema against its vendored GitHub-workflow schema (no network)."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         *map(str, paths)],
        capture_output=True, text=True,
    )


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on:` as True
    return workflow


def test_workflows_pass_the_offline_lint() -> None:
    result = lint(*sorted(WORKFLOWS.glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_lint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    steps:\n      - run: make\n")  # no runs-on
    assert lint(broken).returncode != 0


def test_book_workflow_builds_checks_and_deploys_with_the_official_pages_actions() -> None:
    wf = load("book.yml")
    assert wf["on"]["push"]["branches"] == ["main"]
    assert wf["concurrency"]["group"] == "pages" and wf["permissions"] == {"contents": "read"}
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    runs = [s.get("run", "") for s in build["steps"]]
    assert "make html" in runs and "make check-html" in runs
    uses = [s.get("uses", "").split("@")[0] for s in build["steps"]]
    assert {"actions/setup-python", "actions/configure-pages", "actions/upload-pages-artifact"} <= set(uses)
    python = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"
    upload = next(s for s in build["steps"] if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] == "_build/html"
    keys = " ".join(s["with"]["key"] for s in build["steps"] if "actions/cache" in s.get("uses", ""))
    for keyed_on in ("pyproject.toml", "params/**", "data/manifest.json"):
        assert keyed_on in keys
    assert deploy["needs"] == "build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["steps"][-1]["uses"].startswith("actions/deploy-pages@")


def test_pull_requests_run_make_test() -> None:
    wf = load("test.yml")
    assert "pull_request" in wf["on"]
    assert any(s.get("run", "").startswith("make test") for s in wf["jobs"]["test"]["steps"])


@pytest.mark.parametrize("name", ["book.yml", "test.yml"])
def test_checkout_does_not_keep_credentials(name: str) -> None:
    for job in load(name)["jobs"].values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False
