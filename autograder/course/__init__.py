"""Stage 1, the course: what is graded and how nbgrader is set up for it.

``course`` (folders, setup cell, hermetic nbgrader runs), ``nbgrader_config`` (the
settings), ``feedback`` (the feedback preprocessors those settings name: hidden tests
taken out), ``feedback_math`` (the feedback exporter: math as MathML, no CDN), ``deadlines`` (due dates and the late policy), ``release`` (``make release``), ``bundle`` (``make student-bundle``) and
``cohort`` (submissions made from the solutions, for the demo class and the tests).
Imports nothing from the later stages; kept empty so the root ``nbgrader_config.py``
loads only what it needs."""
