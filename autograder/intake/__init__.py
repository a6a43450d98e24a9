"""Stage 2, intake: taking the submissions in, read-only.

``intake`` finds each student's notebooks in a folder or an LMS zip (file naming,
renamed and duplicate copies), ``repair`` turns what was handed in into a notebook
nbgrader can grade, ``scan`` reads its answer cells (without running them) for code only
cheating needs, by the rules in ``scan_rules``, ``unreadable`` writes the feedback for one
that cannot be read, ``submission_times`` reads when each part was handed in (zip entry
times, Canvas's LATE, a CSV).
Imports only from ``course``."""
