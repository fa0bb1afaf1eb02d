"""Show course code inside a notebook, so a lecture can set an equation next to the code that computes it."""

from __future__ import annotations

import inspect
import textwrap

from IPython.display import Markdown


def show_source(obj: object) -> Markdown:
    """The source of a function, class or method from ``nlpcourse`` as a highlighted Markdown block."""
    source = textwrap.dedent(inspect.getsource(obj))
    return Markdown(f"```python\n{source}```")
