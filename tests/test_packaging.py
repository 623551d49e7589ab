"""A wheel built from the checkout installs one import package, `opsloop`, and works alone.

The editable install (what `make` sets up) is what every other test runs on; here the wheel
a user gets from `pip install .` is built without network (`--no-isolation`) from a copy of
the sources, so the checkout stays clean, then imported from outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.test_architecture import modules, package_dirs

ROOT = Path(__file__).resolve().parents[1]
DATA = [
    "opsloop/prompts/system.md",
    "opsloop/evals/thresholds.yaml",
    "opsloop/evals/routing/questions.yaml",
    "opsloop/evals/answers/questions.yaml",
    "opsloop/evals/memory/incidents.yaml",
    "opsloop/sandbox/scenarios/bad-model-release.yaml",
    "opsloop/agent/slack/manifest.yaml",
]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in {path.relative_to(ROOT).parts[0] for path in package_dirs().values()}:
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, src],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = dist.glob("opsloop-*.whl")
    return built


def test_the_wheel_has_one_top_level_package_and_the_console_script(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert {n.split("/")[0] for n in names} == {"opsloop", f"opsloop-{version}.dist-info"}
    entry_points = zipfile.ZipFile(wheel).read(f"opsloop-{version}.dist-info/entry_points.txt")
    assert "opsloop = opsloop.agent.cli.main:main" in entry_points.decode()


def test_the_wheel_carries_every_module_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"/".join(name.split(".")) for name in modules()}
    missing = sorted(
        path
        for path in expected
        if f"{path}.py" not in names and f"{path}/__init__.py" not in names
    )
    assert not missing
    assert not [path for path in DATA if path not in names]


def test_the_installed_wheel_works_outside_the_checkout(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # a pure-Python wheel installs by unpacking
    check = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        from importlib import resources
        import opsloop
        site = sys.argv[1]
        for info in pkgutil.walk_packages(opsloop.__path__, "opsloop."):
            if not info.name.endswith("__main__"):
                module = importlib.import_module(info.name)
                assert module.__file__.startswith(site), (info.name, module.__file__)
        assert resources.files("opsloop.prompts").joinpath("system.md").is_file()
        from opsloop.sandbox.scenario import builtin_names
        assert "bad-model-release" in builtin_names()
        print("ok")
        """
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [sys.executable, "-c", check, str(site)],
        cwd=tmp_path,  # not the checkout, whose folders would be importable from here
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]
    help_text = subprocess.run(
        [sys.executable, "-m", "opsloop", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert help_text.returncode == 0 and "investigate" in help_text.stdout
