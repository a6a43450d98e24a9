"""The course's grading tooling: nbgrader configuration, the course layout, the student
release (``python -m autograder.release``) and the grader. Importing the package is
cheap: each job lives in its own module."""
