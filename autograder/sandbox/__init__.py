"""Stage 3, running the submissions: grading workers and the confined kernel.

``pool`` feeds jobs to ``worker`` processes, which run nbgrader with ``execute``
(hardened against dying kernels; every test cell runs as a probe and is judged by
``judge`` against the ``reference`` run of the instructor's solution). ``sandbox`` builds
the kernel's confinement; ``sandbox_launch``, ``sandbox_reach``, ``kernel_boot`` and
``kernel_probe`` are scripts the kernel runs (``kernel_boot.py`` and ``kernel_probe.py``
are mounted into the box as ``/opt/autograder/``, so they stay side by side and import
nothing from the package). Imports only from ``course`` and ``intake``."""
