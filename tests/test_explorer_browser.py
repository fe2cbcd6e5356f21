"""The graph explorer's page in a real browser: headless Chromium (the system's), driven by Playwright.

Each test saves a page with `explore(root).save_html(path)`, opens it from disk (file://) and
does what a reader does: counts the boxes, clicks a Value and adds up the shares of its
chain-rule sum, presses the step key, searches, collapses a scope, tries hostile labels. Any
console error or uncaught exception in the page fails the test.
"""

from __future__ import annotations

import math
import os
import shutil

import pytest

from autograd import Value, explore, scope, topological_order

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _unavailable(why: str):
    if os.environ.get("CI"):
        pytest.fail(f"{why}: `bash .ci/setup test` installs them as root (apt-get install chromium; pip playwright)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    """The system's Chromium under Playwright (Playwright's own browser download is never used)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed")
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _unavailable("the chromium package is not installed")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, tmp_path):
    """open_page(root, **options) -> the explorer's page, loaded from a file; console errors fail the test."""
    pages, errors = [], []

    def open_(root: Value, **options):
        path = tmp_path / f"graph{len(pages)}.html"
        explore(root, **options).save_html(path)
        page = browser.new_page(viewport={"width": 1200, "height": 700})
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (errors.append("dialog: " + d.message), d.dismiss()))
        page.on("request", lambda r: r.url.startswith(("http:", "https:")) and errors.append("network: " + r.url))
        page.goto(path.as_uri())
        page.wait_for_selector(".cx-node")
        pages.append(page)
        return page

    yield open_
    for page in pages:
        page.close()
    assert errors == [], errors


def neuron() -> Value:
    """A neuron whose every Value has its own label; x is used twice, so its sum has two rows."""
    x, w, b = Value(2.0, label="x"), Value(-3.0, label="w"), Value(6.88, label="b")
    with scope("Neuron 0"):
        xw = x * w
        xw.label = "xw"
        n = xw + b
        n.label = "n"
        t = n.tanh()
        t.label = "t"
    o = t * x
    o.label = "o"
    o.backward()
    return o


def label_of(page, element) -> str:
    return page.evaluate("e => (e.querySelector('tspan[font-weight]') || {}).textContent || ''", element).strip()


def node_by_label(page, label: str):
    for element in page.query_selector_all(".cx-node.cx-value"):
        if label_of(page, element) == label:
            return element
    raise AssertionError(f"no box labelled {label!r}")


def test_the_page_has_one_element_per_value_and_per_op(open_page):
    root = neuron()
    page = open_page(root)
    order = topological_order(root)
    assert len(page.query_selector_all(".cx-node.cx-value")) == len(order)
    assert len(page.query_selector_all(".cx-node.cx-op")) == sum(1 for v in order if v.inputs)
    assert {label_of(page, e) for e in page.query_selector_all(".cx-node.cx-value")} == {v.label for v in order}


@pytest.mark.parametrize("label", ["x", "w", "n", "t", "o"])
def test_a_click_shows_the_chain_rule_rows_whose_shares_add_up_to_grad(open_page, label):
    root = neuron()
    value = next(v for v in topological_order(root) if v.label == label)
    page = open_page(root)
    node_by_label(page, label).click()
    rows = page.query_selector_all(".cx-panel .cx-share-row")
    shares = [float(r.get_attribute("data-share")) for r in rows]
    users = sum(1 for v in topological_order(root) for inp in v.inputs if inp is value)
    assert len(rows) == users + (value is root)
    total = 0.0
    for share in shares:  # added in backward's order, from 0.0, as backward() adds them
        total += share
    assert total == value.grad
    assert page.inner_text(".cx-panel h3") == label
    assert page.inner_text(".cx-panel .cx-grad") == f"{value.grad:.4g}"


def test_a_click_highlights_the_path_to_the_root(open_page):
    page = open_page(neuron())
    node_by_label(page, "w").click()
    on_path = {label_of(page, e) for e in page.query_selector_all(".cx-node.cx-value.cx-path")}
    assert on_path == {"xw", "n", "t", "o"}
    assert "cx-selected" in node_by_label(page, "w").get_attribute("class")


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7])
def test_pressing_the_step_key_k_times_highlights_the_kth_node_of_backwards_order(open_page, k):
    root = neuron()
    order = list(reversed(topological_order(root)))
    page = open_page(root)
    for _ in range(k):
        page.keyboard.press("ArrowRight")
    (current,) = page.query_selector_all(".cx-node.cx-value.cx-current")
    assert label_of(page, current) == order[k - 1].label
    done = {label_of(page, e) for e in page.query_selector_all(".cx-node.cx-value.cx-done")}
    assert done == {v.label for v in order[:k]}
    for element in page.query_selector_all(".cx-node.cx-value"):  # a gradient shows once it is complete
        text = page.evaluate("e => e.querySelector('text').textContent", element)
        assert text.endswith("grad ?") == (label_of(page, element) not in done)
    assert f"Step {k} of {len(order)}" in page.inner_text(".cx-caption")
    page.keyboard.press("ArrowLeft")
    assert len(page.query_selector_all(".cx-node.cx-value.cx-done")) == k - 1


def test_the_step_buttons_walk_the_same_order(open_page):
    root = neuron()
    order = list(reversed(topological_order(root)))
    page = open_page(root)
    for k in range(1, len(order) + 1):
        page.click(".cx-step-next")
        assert label_of(page, page.query_selector(".cx-node.cx-value.cx-current")) == order[k - 1].label
    page.click(".cx-step-reset")
    assert page.query_selector(".cx-current") is None and page.inner_text(".cx-caption") == ""


def test_search_finds_a_label(open_page):
    page = open_page(neuron())
    page.fill(".cx-search", "xw")
    matched = [label_of(page, e) for e in page.query_selector_all(".cx-node.cx-match")]
    assert matched == ["xw"] and page.inner_text(".cx-panel h3") == "xw"
    page.fill(".cx-search", "nothing like it")
    assert page.inner_text(".cx-search-status") == "not found"


def test_clicking_a_scopes_frame_collapses_and_expands_it(open_page):
    page = open_page(neuron())
    inside = {"xw", "n", "t", "w", "b"}  # w and b join the scope of their only users
    frame = page.query_selector(".cx-frame")
    assert page.evaluate("e => e.querySelector('text').textContent", frame) == "Neuron 0"
    page.click(".cx-frame text")
    hidden = {label_of(page, e) for e in page.query_selector_all(".cx-node.cx-value") if not e.is_visible()}
    assert hidden == inside
    assert "click to expand" in page.evaluate("e => e.querySelector('text').textContent", frame)
    page.click(".cx-frame text")
    assert all(e.is_visible() for e in page.query_selector_all(".cx-node"))


def test_wheel_zooms_drag_pans_and_fit_shows_everything(open_page):
    page = open_page(neuron())
    box = page.query_selector(".cx-canvas").bounding_box()
    fitted = page.get_attribute(".cx-canvas svg", "viewBox")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)
    zoomed = page.get_attribute(".cx-canvas svg", "viewBox")
    assert float(zoomed.split()[2]) < float(fitted.split()[2])  # a narrower view: zoomed in
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 300, box["y"] + 200, steps=5)
    page.mouse.up()
    panned = page.get_attribute(".cx-canvas svg", "viewBox")
    assert panned.split()[2:] == zoomed.split()[2:] and panned.split()[:2] != zoomed.split()[:2]
    page.click(".cx-fit")
    assert page.get_attribute(".cx-canvas svg", "viewBox") == fitted


HOSTILE = ["</script><script>window.__pwned = 1</script>", "<img src=x onerror=\"window.__pwned = 2\">",
           "a & b &amp; \"quoted\" 'single' <b>bold</b>", "<!-- x --> ]]> \u2028 end"]


def test_hostile_labels_render_as_text_and_execute_nothing(open_page):
    leaves = [Value(float(k + 1), label=label) for k, label in enumerate(HOSTILE)]
    with scope("<svg onload=\"window.__pwned = 3\">"):
        total = leaves[0] * leaves[1] + leaves[2] * leaves[3]
    total.label = "</script>"
    total.backward()
    page = open_page(total)
    assert page.evaluate("window.__pwned") is None
    shown = {label_of(page, e) for e in page.query_selector_all(".cx-node.cx-value")}
    assert set(HOSTILE) | {"</script>"} <= shown
    assert page.query_selector(".cx-node img, .cx-panel img, .cx-node b") is None
    node_by_label(page, HOSTILE[1]).click()
    assert page.inner_text(".cx-panel h3") == HOSTILE[1]
    page.fill(".cx-search", "<img")
    assert page.inner_text(".cx-panel h3") == HOSTILE[1]
    assert page.evaluate("window.__pwned") is None


def test_nan_and_infinite_values_show_as_text_and_sum_as_numbers(open_page):
    x = Value(0.0, label="x")
    y = x.sqrt() * 2  # d sqrt(x)/dx at 0 = inf
    y.label = "y"
    y.backward()
    page = open_page(y)
    node_by_label(page, "x").click()
    (row,) = page.query_selector_all(".cx-panel .cx-share-row")
    assert float(row.get_attribute("data-share")) == x.grad == math.inf
    assert "cx-bad" in node_by_label(page, "x").get_attribute("class")


def test_a_collapsed_scope_is_one_box_that_steps_and_clicks_without_errors(open_page):
    root = neuron()
    page = open_page(root, collapse=1)
    (box,) = page.query_selector_all(".cx-node.cx-box")
    assert "Neuron 0" in box.text_content()
    for _ in range(len(topological_order(root))):
        page.keyboard.press("ArrowRight")
    assert "Step 7 of 7" in page.inner_text(".cx-caption")
    box.click()
    assert page.inner_text(".cx-panel h3") == "Neuron 0"
    node_by_label(page, "x").click()
    assert len(page.query_selector_all(".cx-panel .cx-share-row")) == 2  # x * w inside the box, and t * x


def test_a_single_leaf_is_a_graph_of_one_box(open_page):
    x = Value(3.0, label="x")
    x.backward()
    page = open_page(x)
    assert len(page.query_selector_all(".cx-node")) == 1
    page.keyboard.press("ArrowRight")
    assert "Step 1 of 1" in page.inner_text(".cx-caption") and "a leaf passes nothing on" in page.inner_text(
        ".cx-caption")
    node_by_label(page, "x").click()
    assert [r.get_attribute("data-share") for r in page.query_selector_all(".cx-panel .cx-share-row")] == ["1.0"]
