"""Pictures of the computation graph: one layout model, three styles.

`layout.py` decides once, from (root, PictureOptions), what is drawn where: program order and
node ids, scopes, collapsed boxes, copies of far-used Values, edges, checks of size and cycles.
Each style reads that Layout and the same options object:

- `graph.py`: draw_dot, the static Graphviz picture (`picture.py`: rendering it, bounded in time);
- `steps.py`: backward_steps, one such picture per step of backward(), with a step overlay;
- `explorer.py` + `explorer.js`: explore, the interactive page and Jupyter widget.

`style.py` holds how numbers, texts and gradient colours look in all of them; `jupyter.py` says
whether they are shown in a Jupyter kernel (nn's live view asks it too).
"""

from autograd.draw.explorer import EXPLORE_MAX_NODES, Explorer, explore
from autograd.draw.graph import draw_dot
from autograd.draw.layout import MAX_NODES, Layout, PictureOptions
from autograd.draw.picture import (
    INSTALL_GRAPHVIZ,
    RENDER_TIMEOUT,
    GraphRenderTimeoutError,
    GraphTooLargeError,
    GraphvizNotFoundError,
    Picture,
)
from autograd.draw.steps import BackwardStep, backward_steps, backward_trace, save_gif, save_steps, steps_slider
from autograd.draw.style import MAX_LABEL_CHARS, shorten

__all__ = [
    "EXPLORE_MAX_NODES",
    "INSTALL_GRAPHVIZ",
    "MAX_LABEL_CHARS",
    "MAX_NODES",
    "RENDER_TIMEOUT",
    "BackwardStep",
    "Explorer",
    "GraphRenderTimeoutError",
    "GraphTooLargeError",
    "GraphvizNotFoundError",
    "Layout",
    "Picture",
    "PictureOptions",
    "backward_steps",
    "backward_trace",
    "draw_dot",
    "explore",
    "save_gif",
    "save_steps",
    "shorten",
    "steps_slider",
]
