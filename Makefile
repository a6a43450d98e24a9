# One-command set-up for students, instructors and CI. Every target installs what it
# needs into .venv first, so a fresh clone needs only the system Python.
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
# The torch version the course is tested with. scripts/install_torch.py picks the
# build when the venv has none: the CPU build on Linux without an NVIDIA GPU, PyPI's
# default elsewhere. TORCH=spec installs exactly that instead (TORCH=torch: PyPI's
# default build of the newest torch).
TORCH_VERSION ?= 2.13.0
TORCH   ?=
# On Colab the venv sees the preinstalled packages, so its torch is never replaced.
VENV_FLAGS := $(if $(COLAB_RELEASE_TAG),--system-site-packages)
STAMP   := $(VENV)/.installed
SUBMISSIONS ?= autograder/demo_cohort
OUT     ?= grading_out
# make grade PATTERN='^[^_]+_(?P<student>\d+)_' GRADE_ARGS='--workers 4 --redo': passed on as options
PATTERN ?=
GRADE_ARGS ?=
LAB_ARGS ?=
PYTEST_ARGS ?=

.PHONY: setup system-deps lab test grade formgrader feedback release student-bundle bench checkpoint compare clean

$(PY):
	$(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) scripts/install_torch.py --version "$(TORCH_VERSION)" --torch "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[lab,test]"
	@# build matplotlib's font cache now, not on stderr in a student's first plot
	$(PY) -c "import matplotlib.pyplot"
	touch $(STAMP)

setup: $(STAMP)

# Debian packages the tests use (a headless browser, WordNet, bubblewrap); installed
# only where we are root with apt-get, skipped with a note elsewhere.
system-deps:
	@bash scripts/install_system_deps.sh

# JupyterLab refuses to start as root unless told to (containers, Colab-like VMs).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

test: setup system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

# Writes report.txt, report.html (class analytics), grades/totals/questions.csv into OUT; due dates
# and the late policy are read from OUT/deadlines.toml when it exists (autograder/GRADING.md).
grade: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m autograder.grade "$(SUBMISSIONS)" --out "$(OUT)" \
		$(if $(PATTERN),--pattern '$(PATTERN)') $(GRADE_ARGS)

# Hand grading: nbgrader's formgrader on OUT (prints its URL); then `make grade` on the same
# OUT writes the hand grades into grades.csv, totals.csv and the report.
# exec: make's SIGTERM reaches the formgrader itself, which then stops JupyterLab.
formgrader: setup
	exec $(PY) -m autograder.reporting.formgrader --out "$(OUT)"

# Every student's feedback again, with the hand grades and comments (hidden tests stripped).
feedback: setup
	$(PY) -m autograder.reporting.regenerate_feedback --out "$(OUT)"

release: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m autograder.course.release

student-bundle: setup
	$(PY) -m autograder.course.bundle

bench: setup
	$(PY) bench/encoder_speed.py
	$(PY) bench/pretrain_speed.py

# Notebook 06's numbers: per-layer probes and word-in-context fine-tuning for the course
# checkpoint, random init and all-MiniLM-L6-v2 (about 15 minutes on a 2-core CPU);
# writes bench/results/context_tasks_<date>.json
bench-context: setup
	$(PY) bench/context_tasks.py

# The shipped course checkpoint: a fresh masked-LM pre-training run on the WordNet train
# split (5,800 steps of 512 shuffled sentences: 2 minutes on an H200 in bf16, the GPU if there
# is one; about 4 hours on a 2-core CPU), then its weights, config, history, held-out score,
# CPU re-run of its first steps and model card written into encoder_lib/checkpoints/course.
CHECKPOINT_RUN     ?= runs/course
checkpoint: setup
	rm -rf "$(CHECKPOINT_RUN)"
	$(PY) -m encoder_lib.pretrain --preset course --out-dir "$(CHECKPOINT_RUN)"
	$(PY) -m encoder_lib.pretrain.ship "$(CHECKPOINT_RUN)" encoder_lib/checkpoints/course

# Part 3's evidence: from scratch / linear probe / fine-tuned course checkpoint /
# fine-tuned MiniLM on WordNet supersenses, 3 seeds, a learning curve; writes the table
# and plots under bench/results/ (about 20-30 minutes on 2 CPU cores). COMPARE_ARGS
# passes options, e.g. COMPARE_ARGS=--quick for a short trial.
COMPARE_ARGS ?=
compare: setup
	$(PY) bench/compare_finetune.py $(COMPARE_ARGS)

clean:
	rm -rf $(VENV) .grading $(OUT) .pytest_cache
