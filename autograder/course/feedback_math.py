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
import json
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
    """HTML exporter for feedback pages that render their math without a network.

    A grading worker writes the same course text into every student's page: the
    Markdown, the sanitising of each cell's HTML and the highlighting of each code cell
    are pure functions of their text and the exporter's settings, kept once per process
    (nbgrader makes a new exporter for every job) and reused."""

    MEMO_SIZE = 20_000    # pieces of HTML kept per filter
    _shared: dict = {}    # the exporter's settings -> {(filter, ...): {key: html}}, for the whole process

    def _kept(self, table: tuple, key, make):
        """``make()``, computed once per ``key`` in ``table`` for this process."""
        settings = json.dumps([self.embed_images, self.anchor_link_text, self.exclude_anchor_links,
                               self.lexer_options, self.template_name], sort_keys=True, default=str)
        memo = self._shared.setdefault(settings, {}).setdefault(table, {})
        if key not in memo:
            if len(memo) >= self.MEMO_SIZE:
                memo.clear()
            memo[key] = make()
        return memo[key]

    def default_filters(self):
        for name, function in super().default_filters():
            if name == "clean_html":
                function = self._kept_filter(function)
            yield name, function

    def _kept_filter(self, function):
        def kept(text, *args, **kwargs):
            if args or kwargs or not isinstance(text, str):
                return function(text, *args, **kwargs)
            return self._kept(("clean_html",), text, lambda: function(text))
        return kept

    def register_filter(self, name, jinja_filter):
        if name == "highlight_code" and callable(jinja_filter) and not isinstance(jinja_filter, type):
            # made afresh per notebook (it takes the notebook's language), so kept per lexer and options
            table = ("highlight_code", getattr(jinja_filter, "pygments_lexer", None),
                     json.dumps(getattr(jinja_filter, "extra_formatter_options", {}), sort_keys=True, default=str))
            inner = jinja_filter

            def jinja_filter(source, language=None, metadata=None):
                key = (source, language, json.dumps(metadata or {}, sort_keys=True, default=str))
                return self._kept(table, key, lambda: inner(source, language=language, metadata=metadata))
        return super().register_filter(name, jinja_filter)

    @pass_context
    def markdown2html(self, context, source):
        cell = context.get("cell", {})
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        if cell.get("attachments"):
            return self._markdown2html(cell, path, source)
        return self._kept(("markdown2html",), (source, path), lambda: self._markdown2html(cell, path, source))

    def _markdown2html(self, cell, path, source):
        renderer = OfflineMathRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=path,
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
