"""Picture: a Graphviz picture whose rendering is bounded in time and writes only the file asked for.

It also holds the errors of drawing: a graph too large, a `dot` that ran out of time or is not
installed.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import graphviz

from autograd.files import require_regular_file, write_file

MAX_NODES = 500  # dot lays out a few hundred nodes in about a second; tens of thousands take minutes
RENDER_TIMEOUT = 10.0  # seconds dot may take for one picture before rendering gives up

INSTALL_GRAPHVIZ = (
    "install Graphviz, which provides the `dot` program: `sudo apt-get install graphviz` (Debian/Ubuntu), "
    "`brew install graphviz` (macOS) or `conda install -c conda-forge graphviz`; check with `dot -V`"
)


class GraphTooLargeError(ValueError):
    """The graph has more nodes than `max_nodes`: dot would take minutes to lay it out."""


class GraphRenderTimeoutError(GraphTooLargeError):
    """Graphviz's `dot` did not finish the picture within the time allowed (`timeout=`, in seconds).

    A GraphTooLargeError, so code that handles a picture too large to draw handles this too.
    """

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback: in Jupyter the reader sees the advice, not our stack
        return [f"{type(self).__name__}: {self}"]


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """The Graphviz `dot` program is not installed, so the picture cannot be rendered."""

    def __init__(self, message: str) -> None:
        RuntimeError.__init__(self, message)  # graphviz's own __init__ would reformat the message


def _dot_not_found() -> GraphvizNotFoundError:
    return GraphvizNotFoundError(f"cannot render the picture: the Graphviz `dot` program was not found; "
                                 f"{INSTALL_GRAPHVIZ}")


class Picture(graphviz.Digraph):
    """A graphviz.Digraph whose rendering is bounded in time and writes only the file asked for.

    `.source` is the DOT text (no `dot` needed). `pipe` and `render` give Graphviz's `dot` at
    most `timeout` seconds, by default the picture's `.timeout` (RENDER_TIMEOUT; set it, or
    math.inf for no limit), then raise GraphRenderTimeoutError; a missing `dot` raises
    GraphvizNotFoundError, which says how to install it. Jupyter shows the picture inline
    through `pipe`, so the display is bounded the same way and shows that error's message.
    """

    timeout: float = RENDER_TIMEOUT

    # In a notebook a picture is saved as SVG and PNG: JupyterLab and VS Code show no SVG from a
    # notebook its reader has not trusted (every freshly cloned one), but they do show PNG.

    description = "a computation graph"  # the picture in words, for viewers that show no image

    def __repr__(self) -> str:  # no memory address, so a saved notebook is the same from run to run
        return f"<Picture: {self.description}>"

    def _repr_mimebundle_(self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None,
                          **_: Any) -> tuple[dict[str, str | bytes], dict[str, dict[str, int]]]:
        """(data, metadata) for Jupyter: SVG, PNG and text/plain.

        The PNG has `_PNG_DENSITY` pixels per CSS pixel of the SVG, and its metadata asks the
        viewer to show it at the SVG's size: sharp on high-density screens, and the same size.
        """
        wanted = set(include) if include is not None else {"image/svg+xml", "image/png", "text/plain"}
        wanted -= set(exclude or ())
        data: dict[str, str | bytes] = {}
        metadata: dict[str, dict[str, int]] = {}
        if wanted & {"image/svg+xml", "image/png"}:
            svg = self.pipe(format="svg", encoding="utf-8")
            if "image/svg+xml" in wanted:
                data["image/svg+xml"] = svg
            if "image/png" in wanted:
                data["image/png"], metadata["image/png"] = self._png_like(svg)
        if "text/plain" in wanted:
            data["text/plain"] = repr(self)
        return data, metadata

    def _png_like(self, svg: str, max_pixels: int | None = None) -> tuple[bytes, dict[str, int]]:
        """The picture as PNG (at most `max_pixels`, default _PNG_MAX_PIXELS), and the size in CSS
        pixels at which it matches `svg`."""
        width_pt, height_pt = _svg_size(svg)
        css = 96 / 72  # CSS pixels per point: browsers show an SVG's points at this scale
        budget = _PNG_MAX_PIXELS if max_pixels is None else max_pixels
        density = min(_PNG_DENSITY, math.sqrt(budget / max(1.0, width_pt * height_pt * css * css)))
        sharp = self.copy()
        sharp.graph_attr["dpi"] = f"{96 * density:.4g}"  # more pixels per inch; the layout stays the same
        return sharp.pipe(format="png"), {"width": round(width_pt * css), "height": round(height_pt * css)}

    def pipe(self, format: str | None = None, renderer: str | None = None, formatter: str | None = None,  # noqa: A002
             neato_no_op: bool | int | None = None, quiet: bool = False, *, engine: str | None = None,
             encoding: str | None = None, timeout: float | None = None) -> bytes | str:
        """The picture as bytes in `format` ("svg", "png", "pdf", ...), or as text given `encoding`.

        The arguments are graphviz's; `timeout` bounds dot's time in seconds (None: the
        picture's `.timeout`). dot's warnings go to stderr unless `quiet`.
        """
        fmt = format if format is not None else self.format
        engine = engine if engine is not None else self.engine
        if fmt not in graphviz.FORMATS:
            raise ValueError(f"pipe: unknown format {fmt!r}; e.g. 'svg', 'png' or 'pdf'")
        if engine not in graphviz.ENGINES:
            raise ValueError(f"pipe: unknown layout engine {engine!r}; e.g. 'dot'")
        if renderer is not None and renderer not in graphviz.RENDERERS:
            raise ValueError(f"pipe: unknown renderer {renderer!r}")
        if formatter is not None and (renderer is None or formatter not in graphviz.FORMATTERS):
            raise ValueError(f"pipe: unknown formatter {formatter!r} (a formatter needs a renderer)")
        timeout = self.timeout if timeout is None else timeout
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
            raise ValueError(f"pipe: timeout must be a positive number of seconds (math.inf: no limit), got "
                             f"{timeout!r}")
        command = ["dot", f"-K{engine}", "-T" + ":".join(f for f in (fmt, renderer, formatter) if f is not None)]
        if neato_no_op:
            command.append(f"-n{int(neato_no_op)}")
        try:
            dot = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise _dot_not_found() from None
        # our own wait, not graphviz's pipe: graphviz has no timeout, and a dot that runs out of time
        # or is interrupted by Ctrl-C must not outlive the call (killed and reaped)
        try:
            out, err = dot.communicate(self.source.encode(self.encoding), timeout=None if math.isinf(timeout)
                                       else timeout)
        except BaseException as error:
            dot.kill()
            dot.wait()
            if isinstance(error, subprocess.TimeoutExpired):
                raise GraphRenderTimeoutError(self._too_slow(timeout)) from None
            raise
        finally:
            for stream in (dot.stdin, dot.stdout, dot.stderr):
                stream.close()
        if dot.returncode != 0:
            raise graphviz.CalledProcessError(dot.returncode, command, output=out, stderr=err)
        if err and not quiet:
            sys.stderr.write(err.decode(self.encoding, errors="replace"))
        return out if encoding is None else out.decode(encoding)

    def render(self, filename: str | os.PathLike | None = None, directory: str | os.PathLike | None = None,
               view: bool = False, cleanup: bool = False, format: str | None = None, renderer: str | None = None,  # noqa: A002
               formatter: str | None = None, neato_no_op: bool | int | None = None, quiet: bool = False,
               quiet_view: bool = False, *, outfile: str | os.PathLike | None = None, engine: str | None = None,
               raise_if_result_exists: bool = False, overwrite_source: bool = False,
               timeout: float | None = None) -> str:
        """Write the picture to a file and return its path.

        `render(outfile="graph.svg")` writes exactly that file, its format following the suffix
        (or `format=`), and nothing else: no DOT source beside it, and on any failure (no
        `dot`, timeout, unwritable folder) no file at all; an existing file is replaced whole
        or not at all. Given `filename` (or no outfile), it also saves the DOT source there
        and, without outfile, writes the picture to `filename.<format>`, as graphviz does;
        `cleanup=True` then deletes that source afterwards. `timeout` as in `pipe`.
        """
        source_path: Path | None = None
        if outfile is not None:
            target = Path(os.fspath(outfile))
            if directory is None:
                target = Path(self.directory, target)  # where graphviz would put it
            fmt = format if format is not None else _format_of(target)
        else:
            fmt = format if format is not None else self.format
        if filename is not None or outfile is None:  # the caller asked for the DOT source to be saved
            source_path = Path(self.save(filename, directory=directory))
            if outfile is None:
                suffix = ".".join(f for f in (formatter, renderer, fmt) if f is not None)
                target = source_path.with_name(f"{source_path.name}.{suffix}")
            elif not overwrite_source and target.resolve() == source_path.resolve():
                raise ValueError(f"render: outfile {os.fspath(target)!r} is the DOT source file; "
                                 "pick another name (or pass overwrite_source=True)")
        if raise_if_result_exists and target.exists():
            raise graphviz.FileExistsError(f"output file exists: {os.fspath(target)!r}")
        require_regular_file(target, "render")  # a FIFO or a device is refused before dot runs
        data = self.pipe(fmt, renderer, formatter, neato_no_op, quiet, engine=engine, timeout=timeout)
        write_file(target, data, "render")
        if cleanup and source_path is not None:
            source_path.unlink()
        if view or quiet_view:
            self._view(target, format=fmt, quiet=quiet_view)
        return os.fspath(target)

    def save(self, filename: str | os.PathLike | None = None, directory: str | os.PathLike | None = None, *,
             skip_existing: bool | None = False) -> str:
        """Write the DOT source to `filename` (default: the picture's own) in `directory`, as graphviz
        does, but through autograd.files.write_file: whole or not at all, never onto a FIFO or device."""
        if filename is not None:
            self.filename = filename
        if directory is not None:
            self.directory = directory
        path = self.filepath
        if skip_existing and os.path.exists(path):
            return path
        write_file(path, self.source.encode(self.encoding), "save")
        return path

    def _too_slow(self, timeout: float) -> str:
        nodes = sum(1 for line in self.body if _NODE_STATEMENT.match(line))
        edges = sum(1 for line in self.body if " -> " in line)
        return (f"Graphviz's dot did not finish laying out the picture ({nodes:,} nodes, {edges:,} edges) within "
                f"{timeout:g} s. Draw a smaller part of the graph, collapse scopes into one box each with "
                f"collapse=1 (or collapse='<scope name>'), or allow more time: .render(outfile=..., timeout=60), "
                f".pipe(format=..., timeout=60) or .timeout = 60 for Jupyter; .source has the DOT text")


_NODE_STATEMENT = re.compile(r"\s*(?!(?:graph|node|edge) )\w+ \[")


def _format_of(path: Path) -> str:
    """The picture format a file name asks for: graph.svg -> 'svg'."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in graphviz.FORMATS:
        raise ValueError(f"render: cannot tell the picture format from the name {os.fspath(path)!r}; "
                         "end it in .svg, .png or .pdf, or pass format=")
    return fmt


_PNG_DENSITY = 2  # PNG pixels per CSS pixel in notebooks: sharp on high-density ("retina") screens
_PNG_MAX_PIXELS = 6_000_000  # a huge graph gets fewer pixels per CSS pixel: notebooks stay small


def _svg_size(svg: str) -> tuple[float, float]:
    """(width, height) in points from the header dot writes: <svg width="429pt" height="813pt" ...>."""
    found = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    if found is None:
        raise ValueError("draw: the SVG from dot has no width and height in points")
    return float(found[1]), float(found[2])

