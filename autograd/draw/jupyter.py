"""Where the pictures are shown: whether this Python runs in a Jupyter kernel."""

from __future__ import annotations

import sys


def in_jupyter_kernel() -> bool:
    """True in a running Jupyter kernel (JupyterLab, Notebook, VS Code), where widgets work and outputs
    update in place; False in a script and in IPython in a terminal."""
    ipython = sys.modules.get("IPython")  # a kernel has imported it before any user code runs
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None
