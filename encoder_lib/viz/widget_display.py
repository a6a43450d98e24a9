"""Display for the course's interactive widgets, shared by the explorer and the
fill-in-the-blank widget: the object shows its ``self.widget`` (an ipywidgets box) and
recomputes on every change of an observed control."""
from __future__ import annotations


class WidgetDisplay:
    """Mixin: subclasses set ``self.widget`` and define ``update()``."""

    def _ipython_display_(self):
        # delegate to the widget: ipywidgets 8 renders through _repr_mimebundle_, the
        # ipywidgets 7.7 that Colab keeps through its own _ipython_display_
        from IPython.display import display

        display(self.widget)

    def _repr_mimebundle_(self, **kwargs):
        if hasattr(self.widget, "_repr_mimebundle_"):
            return self.widget._repr_mimebundle_(**kwargs)
        return {"text/plain": repr(self.widget)}

    def _on_change(self, change) -> None:
        self.update()
