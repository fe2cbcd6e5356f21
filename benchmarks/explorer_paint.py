"""How long the graph explorer's page takes to show a 5,000-node graph in headless Chromium.

    .venv/bin/python benchmarks/explorer_paint.py            # MLP(8, [64, 64, 1]): about 5,300 nodes
    .venv/bin/python benchmarks/explorer_paint.py --runs 5

Builds the graph of one output of nn.MLP(8, [64, 64, 1]) after backward(), times explore()
(the layout by Graphviz's dot, once, in Python) and save_html, then opens the page from disk in
the system's Chromium (Playwright, headless) and reports, per run, the browser's first paint
(performance "first-paint": every box, oval and edge, and the first 1,500 texts) and the time
until every text is drawn too, both in ms from the start of navigation. Issue 24 asks for a
first paint under 2 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import nn  # noqa: E402
from autograd import explore  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ALL_DRAWN = ("new Promise(r => { const done = () => document.querySelector('.cx-root').dataset.ready ? "
             "requestAnimationFrame(() => r(performance.now())) : requestAnimationFrame(done); done(); })")
FIRST_PAINT = "performance.getEntriesByType('paint').find(e => e.name === 'first-paint').startTime"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    model = nn.MLP(8, [64, 64, 1], "tanh", seed=0)
    out = model([0.1 * i for i in range(8)])
    out.backward()
    start = time.perf_counter()
    view = explore(out, max_nodes=6000)
    layout = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as folder:
        page_path = Path(folder) / "graph.html"
        view.save_html(page_path)
        nodes, edges = len(view.data["nodes"]), len(view.data["edges"])
        print(f"graph: {nodes:,} nodes, {edges:,} edges; explore() {layout:.2f} s; page "
              f"{page_path.stat().st_size / 1e6:.1f} MB")
        paints, drawn = [], []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
            for _ in range(args.runs):
                page = browser.new_page(viewport={"width": 1300, "height": 700})
                page.goto(page_path.as_uri())
                drawn.append(page.evaluate(ALL_DRAWN))
                paints.append(page.evaluate(FIRST_PAINT))
                assert page.evaluate("document.querySelectorAll('.cx-node').length") == nodes
                page.close()
            browser.close()
    print(f"first paint: median {statistics.median(paints):.0f} ms (runs: {', '.join(f'{t:.0f}' for t in paints)})")
    print(f"all drawn:   median {statistics.median(drawn):.0f} ms (runs: {', '.join(f'{t:.0f}' for t in drawn)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
