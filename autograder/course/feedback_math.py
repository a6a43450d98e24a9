"""Math in feedback pages, rendered when the page is written: nothing to load when it is read.

nbgrader's feedback template loads MathJax from a CDN, which a grading server or a
student offline cannot reach, and ``$l = 0$`` then stays raw LaTeX. The feedback step's
exporter here, :class:`OfflineMathHTMLExporter` (``GenerateFeedback.exporter_class``),
is nbconvert's HTML exporter with two changes:

- the math of Markdown cells and of Markdown or LaTeX outputs (``$...$``, ``$$...$$``,
  ``\\(...\\)``, ``\\[...\\]``, ``\\begin{env}...\\end{env}``) is turned into MathML with
  ``latex2mathml`` (pure Python, a dependency of the grader), which browsers draw
  themselves; LaTeX it cannot read stays as its source, in a ``<code>``;
- the MathJax loader is taken out of the page, so it fetches nothing.

:func:`render_math` does the same to the source of one Markdown text, for other pages.
"""
from __future__ import annotations

import copy
import re
from html import escape

from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

#: nbconvert's MathJax macro, as the feedback template writes it
MATHJAX_BLOCK = re.compile(r"[ \t]*(<!-- Loading mathjax macro -->\s*)?<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->[ \t]*\n?", re.DOTALL)
MATHJAX_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"[^\"]*mathjax[^\"]*\"[^>]*>\s*</script>\s*", re.IGNORECASE)
MATH_STYLE = """<style type="text/css">
math { font-family: math, "STIX Two Math", "Cambria Math", "Latin Modern Math", "DejaVu Math TeX Gyre", serif; }
math[display="block"] { margin: 0.6em 0; }
code.tex { color: #a33; }
</style>
"""


def tex_to_mathml(tex: str, display: bool = False) -> str:
    """``tex`` (without its delimiters) as a MathML ``<math>`` element; LaTeX that cannot be
    converted comes back as its escaped source in ``<code class="tex">``."""
    from latex2mathml.converter import convert

    source = tex.strip()
    try:
        if not source:
            raise ValueError("empty")
        return convert(source, display="block" if display else "inline")
    except Exception:   # the converter's errors are many kinds: any of them keeps the source
        delim = ("$$", "$$") if display else ("$", "$")
        return f'<code class="tex">{escape(delim[0] + tex + delim[1])}</code>'


class OfflineMathRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer, writing MathML where it wrote TeX for MathJax."""

    def inline_math(self, body: str) -> str:
        return tex_to_mathml(body)

    def block_math(self, body: str) -> str:
        return tex_to_mathml(body, display=True)

    def latex_environment(self, name: str, body: str) -> str:
        return tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)


def render_math(markdown: str) -> str:
    """One Markdown text as HTML, its math as MathML."""
    return MarkdownWithMath(renderer=OfflineMathRenderer(escape=False)).render(markdown)


def strip_mathjax(html: str) -> str:
    """The page without MathJax's loader and configuration, and with the style for MathML."""
    html = MATHJAX_SCRIPT.sub("", MATHJAX_BLOCK.sub("", html))
    return html.replace("</head>", MATH_STYLE + "</head>", 1)


class OfflineMathHTMLExporter(HTMLExporter):
    """HTML exporter for feedback pages that render their math without a network."""

    @pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        renderer = OfflineMathRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return MarkdownWithMath(renderer=renderer).render(source)

    def from_notebook_node(self, nb, resources=None, **kw):
        nb = copy.deepcopy(nb)
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if "text/latex" in data and "text/html" not in data:   # IPython.display.Math(...)
                    data["text/html"] = render_math(data["text/latex"])
        html, resources = super().from_notebook_node(nb, resources, **kw)
        return strip_mathjax(html), resources
