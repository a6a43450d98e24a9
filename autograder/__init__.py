"""The course's grading tooling, one folder per stage, in the order a submission meets them:

1. ``course/``: the course itself (layout, nbgrader settings, safe feedback, the student
   release and bundle, the demo cohort);
2. ``intake/``: taking submissions in (finding each student's notebooks, repairing them);
3. ``sandbox/``: running them (worker processes, the confined kernel, hardened execution);
4. ``reporting/``: what comes out (results, gradebook, report, hand grades, feedback, LMS export).

A stage imports only from earlier stages (``tests/test_autograder_layout.py`` checks it).
``grade.py`` (``python -m autograder.grade``) and ``master.py`` sit on top and drive the
stages. Importing the package is cheap: each job lives in its own module."""
