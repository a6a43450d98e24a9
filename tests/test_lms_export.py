"""``python -m autograder.reporting.lms_export``: a Canvas gradebook CSV and a Moodle grade-import CSV
from a grading output's ``grades.csv``, matched against gradebook exports in each LMS's
format (tests/lms_fixtures/); graded students a roster does not know are listed, never
dropped silently."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from autograder.reporting.lms_export import CANVAS_FIXED, main
from autograder.reporting.merge import write_grades_csv
from autograder.reporting.results import Row

FIXTURES = Path(__file__).parent / "lms_fixtures"
PART, OTHER = "part1_representations", "part2_pretraining"


def _out(tmp_path: Path, students: list[str]) -> Path:
    """A grading output of a class with one assignment per part (class.toml) whose grades.csv
    has, per student, 4 + 3 (written) points in part 1 and 5 in part 2; student i scores i
    on the test and 2 on the written answer."""
    rows = []
    for i, s in enumerate(students, 1):
        rows += [Row(s, PART, "01_tokens", "q1", float(i), 4.0, "partial"),
                 Row(s, PART, "03_seq", "written_quiz_4", 2.0, 3.0, "hand-graded"),
                 Row(s, OTHER, "04_mlm", "q1", 5.0, 5.0, "passed")]
    rows.append(Row(students[0], PART, "01_tokens", "q2", None, 1.0, "manual"))
    out = tmp_path / "out"
    out.mkdir()
    write_grades_csv(rows, out / "grades.csv")
    (out / "class.toml").write_text('assignments = "part"\n', encoding="utf-8")
    return out


def _read(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_canvas_csv_fills_the_roster_and_lists_students_it_cannot_match(tmp_path, capsys):
    # ada: SIS Login ID; brownben: Canvas's file-name form of "Brown, Ben"; 1003: Canvas ID
    out = _out(tmp_path, ["ada", "brownben", "1003", "zed"])
    code = main(["canvas", "--out", str(out), "--roster", str(FIXTURES / "canvas_gradebook_export.csv")])
    said = capsys.readouterr().out
    assert code == 1 and "zed" in said and "NOT in the import" in said
    assert [r["student"] for r in _read(out / "lms_unmatched.csv")] == ["zed"]

    with open(out / "canvas_import.csv", newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header == CANVAS_FIXED + [f"{PART} (4711)", OTHER]     # the existing assignment keeps its id
    rows = _read(out / "canvas_import.csv")
    assert rows[0]["Student"] == "Points Possible"
    assert (rows[0][f"{PART} (4711)"], rows[0][OTHER]) == ("8", "5")  # 4 + 3 + 1 (the manual one)
    by_name = {r["Student"]: r for r in rows[1:]}
    assert set(by_name) == {"Lovelace, Ada", "Brown, Ben", "Sato, Cleo", "Nguyen, Dan"}   # no Test Student
    assert (by_name["Lovelace, Ada"]["SIS User ID"], by_name["Lovelace, Ada"][f"{PART} (4711)"]) == ("S1001", "3")
    assert by_name["Brown, Ben"][f"{PART} (4711)"] == "4" and by_name["Sato, Cleo"][OTHER] == "5"
    assert by_name["Sato, Cleo"]["Section"] == "Section B" and by_name["Sato, Cleo"]["ID"] == "1003"
    assert by_name["Nguyen, Dan"][f"{PART} (4711)"] == ""          # nothing graded: left alone


def test_canvas_csv_without_a_roster_keys_on_the_student(tmp_path):
    out = _out(tmp_path, ["ada", "ben"])
    assert main(["canvas", "--out", str(out)]) == 0
    rows = _read(out / "canvas_import.csv")
    assert rows[0]["Student"] == "Points Possible"
    assert [(r["Student"], r["SIS Login ID"], r[PART]) for r in rows[1:]] == [("ada", "ada", "3"),
                                                                              ("ben", "ben", "4")]
    assert not (out / "lms_unmatched.csv").exists()


def test_moodle_csv_is_keyed_on_the_column_the_instructor_names(tmp_path, capsys):
    out = _out(tmp_path, ["4711", "4713", "9999"])
    code = main(["moodle", "--out", str(out), "--roster", str(FIXTURES / "moodle_grades_export.csv"),
                 "--key-column", "Email address", "--match-on", "ID number"])
    assert code == 1 and "9999" in capsys.readouterr().out
    with open(out / "moodle_import.csv", newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table == [["Email address", PART, OTHER],
                     ["ada.lovelace@example.edu", "3", "5"],
                     ["cleo.sato@example.edu", "4", "5"]]


def test_bad_input_gets_a_clear_error(tmp_path, capsys):
    out = _out(tmp_path, ["ada"])
    assert main(["moodle", "--out", str(out), "--roster", str(FIXTURES / "moodle_grades_export.csv"),
                 "--key-column", "Matrikel"]) == 2
    assert "no column 'Matrikel'" in capsys.readouterr().err
    assert main(["canvas", "--out", str(out), "--roster", str(FIXTURES / "moodle_grades_export.csv")]) == 2
    assert "not a Canvas gradebook export" in capsys.readouterr().err
    assert main(["canvas", "--out", str(tmp_path / "nowhere")]) == 2
    assert "run `make grade" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["moodle", "--out", str(out)])          # no --key-column


# ------------------------------------------------------- one assignment per notebook

def _per_notebook(tmp_path: Path, class_toml: str | None = None) -> Path:
    """ada handed in notebooks 01 and 03 of part 1, brownben only 03; both 04 of part 2; nobody 02."""
    rows = [Row("ada", PART, "01_tokens", "q1", 10.0, 14.0, "partial"),
            Row("ada", PART, "02_attention", "q1", 0.0, 0.0, "missing"),
            Row("ada", PART, "03_seq", "q1", 20.0, 20.0, "passed"),
            Row("ada", OTHER, "04_mlm", "q1", 3.0, 30.0, "partial"),
            Row("brownben", PART, "01_tokens", "q1", 0.0, 0.0, "missing"),
            Row("brownben", PART, "02_attention", "q1", 0.0, 0.0, "missing"),
            Row("brownben", PART, "03_seq", "q1", 15.0, 20.0, "partial"),
            Row("brownben", OTHER, "04_mlm", "q1", 30.0, 30.0, "passed")]
    out = tmp_path / "out"
    out.mkdir()
    write_grades_csv(rows, out / "grades.csv")
    if class_toml is not None:
        (out / "class.toml").write_text(class_toml, encoding="utf-8")
    return out


def test_per_notebook_export_fills_the_instructors_notebook_columns_and_charges_nothing_not_handed_in(
        tmp_path, capsys):
    out = _per_notebook(tmp_path)
    code = main(["canvas", "--out", str(out), "--roster", str(FIXTURES / "canvas_gradebook_per_notebook.csv")])
    said = capsys.readouterr().out
    assert code == 0, said
    with open(out / "canvas_import.csv", newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    # 01 and 03 land in the instructor's columns (with Canvas's ids), by their number; 04 has no column
    assert header == CANVAS_FIXED + ["Notebook 01 (88001)", "03 Sequence representations (88003)", "04_mlm"]
    rows = _read(out / "canvas_import.csv")
    assert (rows[0]["Notebook 01 (88001)"], rows[0]["03 Sequence representations (88003)"]) == ("14", "20")
    by_name = {r["Student"]: r for r in rows[1:]}
    assert by_name["Lovelace, Ada"]["Notebook 01 (88001)"] == "10"
    assert by_name["Brown, Ben"]["Notebook 01 (88001)"] == ""      # not handed in: left alone, not 0
    assert by_name["Brown, Ben"]["03 Sequence representations (88003)"] == "15"
    assert "02_attention" not in header                              # nobody handed it in
    assert "WARNING: not mapped onto the roster: 04_mlm" in said and "class.toml [lms.columns]" in said
    assert "one assignment per notebook" in said
    # the roster's Notebook 01 is worth 14 like ours; its 03 column 20 like ours: no warning on points
    assert "points in the roster" not in said


def test_a_gradebook_column_worth_other_points_than_the_notebook_is_said(tmp_path, capsys):
    out = _per_notebook(tmp_path, '[lms.columns]\n"04_mlm" = "Part 2 (88100)"\n')
    roster = tmp_path / "roster.csv"
    roster.write_text((FIXTURES / "canvas_gradebook_per_notebook.csv").read_text(encoding="utf-8")
                      .replace(",14.00,20.00,", ",10.00,20.00,"), encoding="utf-8")
    assert main(["canvas", "--out", str(out), "--roster", str(roster)]) == 0
    said = capsys.readouterr().out
    assert "WARNING: Notebook 01 (88001): worth 10 points in the roster, 14 here" in said
    assert "03 Sequence" not in said and "Part 2" not in said


def test_class_toml_names_the_gradebook_columns_and_a_wrong_name_is_refused(tmp_path, capsys):
    out = _per_notebook(tmp_path, '[lms.columns]\n"04_mlm" = "Part 2 (88100)"\n"03_seq" = "Quiz 3 (90000)"\n')
    roster = str(FIXTURES / "canvas_gradebook_per_notebook.csv")
    assert main(["canvas", "--out", str(out), "--roster", roster]) == 0
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("WARNING")]
    assert warnings == ["WARNING: Quiz 3 (90000): worth 5 points in the roster, 20 here; Canvas keeps its own "
                        "points possible, so set the assignment to 20 points (or scale the scores) before importing"]
    rows = _read(out / "canvas_import.csv")
    assert {r["Student"]: r["Part 2 (88100)"] for r in rows} == {
        "Points Possible": "30", "Lovelace, Ada": "3", "Brown, Ben": "30"}
    assert rows[2]["Quiz 3 (90000)"] == "15"

    (out / "class.toml").write_text('[lms.columns]\n"04_mlm" = "Notebook 04 (99999)"\n', encoding="utf-8")
    assert main(["canvas", "--out", str(out), "--roster", roster]) == 2
    err = capsys.readouterr().err
    assert "class.toml: lms.columns.04_mlm = 'Notebook 04 (99999)' is not a column of the roster" in err
    (out / "class.toml").write_text('assignments = "course"\n', encoding="utf-8")
    assert main(["canvas", "--out", str(out)]) == 2
    assert 'assignments: \'course\' is not one of "notebook", "part"' in capsys.readouterr().err


def test_one_assignment_per_part_charges_the_notebooks_not_handed_in(tmp_path):
    out = _per_notebook(tmp_path, 'assignments = "part"\n')
    assert main(["canvas", "--out", str(out)]) == 0
    rows = {r["Student"]: r for r in _read(out / "canvas_import.csv")}
    assert (rows["ada"][PART], rows["brownben"][PART], rows["brownben"][OTHER]) == ("30", "15", "30")
