"""Stage 2, intake: taking the submissions in, read-only.

``intake`` finds each student's notebooks in a folder or an LMS zip (file naming,
renamed and duplicate copies), ``repair`` turns what was handed in into a notebook
nbgrader can grade, ``unreadable`` writes the feedback for one that cannot be read.
Imports only from ``course``."""
