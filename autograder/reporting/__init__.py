"""Stage 4, reporting: from graded jobs to what instructors and students get.

``results`` (rows and problems), ``merge`` (grades.csv, totals.csv, the merged gradebook),
``report`` (report.txt), ``report_html`` with ``analytics``, ``quiz_answers`` and ``true_cost``
(report.html, questions.csv), ``late`` (penalties), ``combine`` (joining shards), ``hand_grades`` and
``formgrader`` (hand grading), ``regenerate_feedback`` (feedback with hand grades) and
``lms_export`` (Canvas and Moodle CSVs). May import from every earlier stage."""
