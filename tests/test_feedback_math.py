"""Feedback pages carry their math as MathML, written with the page: no MathJax, no CDN
(``autograder/course/feedback_math.py``). Fast checks here; a real feedback page opened in
Chromium with the network off is in ``tests/test_instructor_pages_browser.py``."""
from __future__ import annotations

import json
import re

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.course.course import REPO_ROOT
from autograder.course.feedback_math import OfflineMathHTMLExporter, render_math, strip_mathjax, tex_to_mathml


def test_tex_becomes_mathml_and_tex_it_cannot_read_stays_as_its_source():
    inline = tex_to_mathml("l = 0")
    assert inline.startswith("<math") and 'display="inline"' in inline
    assert "<mi>l</mi>" in inline and "<mn>0</mn>" in inline
    block = tex_to_mathml(r"\frac{a}{\sqrt{b}}", display=True)
    assert 'display="block"' in block and "<mfrac>" in block and "<msqrt>" in block
    assert "<mo>&#x0003C;</mo>" in tex_to_mathml("a < b")          # markup in TeX is escaped
    broken = tex_to_mathml(r"\frac{a}{")
    assert broken == r'<code class="tex">$\frac{a}{$</code>'


def test_every_formula_in_the_course_notebooks_is_rendered():
    paths = sorted((REPO_ROOT / "notebooks").rglob("*.ipynb")) + sorted((REPO_ROOT / "solutions").rglob("*.ipynb"))
    formulas = 0
    for path in paths:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            html = render_math("".join(cell["source"]))
            formulas += html.count("<math ")
            assert 'class="tex"' not in html, (path.name, "".join(cell["source"])[:300])
            assert not re.search(r"\$[^$<]*\\[A-Za-z]+", html), (path.name, html[:300])   # no raw TeX left
    assert formulas > 500


def _notebook():
    latex = new_output("display_data", data={"text/latex": r"$$\sum_i x_i$$", "text/plain": "<Math>"})
    return new_notebook(cells=[
        new_markdown_cell("The loss is $l = 0$ when\n\n$$p = \\frac{e^{z}}{\\sum_j e^{z_j}}$$\n\nholds."),
        new_code_cell('price = "$5 and $6"  # $x$ in code stays', outputs=[
            new_output("stream", name="stdout", text="$y$ printed\n"), latex]),
    ], metadata={"language_info": {"name": "python"}})


def test_the_exporter_writes_mathml_for_markdown_and_latex_outputs_and_no_mathjax():
    html, _ = OfflineMathHTMLExporter(template_name="classic").from_notebook_node(_notebook())
    assert re.findall(r'<math[^>]*display="(\w+)"', html) == ["inline", "block", "block"]   # $l = 0$, softmax, output
    assert "<mfrac>" in html and "<msub>" in html
    assert not re.search(r"<script[^>]*mathjax", html, re.IGNORECASE) and "MathJax.Hub" not in html
    assert '"$5 and $6"' in html and "# $x$ in code stays" in html      # code is not math
    assert "<pre>$y$ printed" in html                                    # nor is what a cell printed
    assert "$l = 0$" not in html


def test_strip_mathjax_takes_out_the_loader_of_nbgraders_feedback_template():
    page = ('<html><head>\n<!-- Loading mathjax macro -->\n    <!-- Load mathjax -->\n'
            '    <script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js?config=TeX"> </script>\n'
            '    <script type="text/x-mathjax-config">init_mathjax();</script>\n'
            '    <!-- End of mathjax configuration -->\n</head><body></body></html>')
    out = strip_mathjax(page)
    assert "mathjax" not in out.lower() and "<script" not in out
    assert "math {" in out and out.index("math {") < out.index("</head>")


def test_the_feedback_step_of_make_feedback_and_formgrader_uses_the_offline_exporter(tmp_path):
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from autograder.course.nbgrader_config import configure

    c = Config()
    configure(c, root=tmp_path)
    converter = GenerateFeedback(coursedir=CourseDirectory(config=c), config=c)
    assert converter.exporter_class is OfflineMathHTMLExporter


def test_the_graders_own_feedback_step_uses_the_offline_exporter():
    source = (REPO_ROOT / "autograder" / "sandbox" / "worker.py").read_text(encoding="utf-8")
    assert 'c.GenerateFeedback.exporter_class = "autograder.course.feedback_math.OfflineMathHTMLExporter"' in source


def test_pages_written_from_the_kept_course_text_equal_pages_written_afresh():
    import nbformat

    cohort = REPO_ROOT / "autograder" / "demo_cohort"
    paths = [cohort / s / "02_self_attention.ipynb" for s in ("ada", "ben", "cleo")]
    kept = []
    for path in paths + paths[:1]:     # as a grading worker writes them, job after job
        kept.append(OfflineMathHTMLExporter().from_notebook_node(nbformat.read(path, as_version=4))[0])
    assert any(OfflineMathHTMLExporter._shared.values()), "the course text was not kept between pages"
    for path, page in zip(paths + paths[:1], kept):
        OfflineMathHTMLExporter._shared.clear()
        assert OfflineMathHTMLExporter().from_notebook_node(nbformat.read(path, as_version=4))[0] == page, path
    # a cell with an attachment is rendered for itself, never from what was kept
    nb = new_notebook(cells=[new_markdown_cell("see ![x](attachment:a.png)",
                                               attachments={"a.png": {"image/png": "iVBORw0KGgo="}})])
    assert "iVBORw0KGgo=" in OfflineMathHTMLExporter().from_notebook_node(nb)[0]
