"""Every fenced code block in README.md and docs/*.md runs as written.

A page's ```python blocks run in order in one fresh process (a later block may use what an earlier
one defined, as a reader's session would), in a temporary directory; then its ```bash blocks run
there, in order, with the venv's bin first on PATH, so a block may use a file an earlier block of
the page wrote. A bash block must hold only `lamina ...` commands, `python <script>` lines that
run a script of the repository's (docs/exercises/, examples/), and `mkdir -p`. A block preceded by
`<!-- file: NAME -->` is a file the page shows; it is written to NAME before anything runs. A block
that cannot run here is preceded by `<!-- not run: why -->` in the page itself, and is listed in
NOT_RUN below, so that list cannot grow unnoticed. Other languages (toml, text, output) are shown,
not run.
"""

import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^\s*(`{3,})(\w*)\s*$")  # indented too: a block inside a list item
MARK = re.compile(r"^<!--\s*(not run|file):\s*(.*?)\s*-->$")

# (page, first line of the block): each is marked `<!-- not run: ... -->` where it stands.
NOT_RUN = {
    ("README.md", "pip install . && lamina train"),
    ("README.md", "bash .ci/run"),
    ("README.md", "lamina sweep examples/circle.toml --set optimizer.weight_decay=0,0.01 --seeds 3 --out d"),
    ("README.md", "lamina data download mnist"),
    ("docs/writing-plugins.md", "pip install -e path/to/lamina"),
    ("docs/exercises.md", "lamina sweep examples/circle.toml \\"),
    ("docs/exercises.md", "lamina sweep examples/circle.toml --set optimizer.weight_decay=0,0.01 --seeds 3 --out runs/weight-decay"),
    ("docs/exercises.md", "python examples/per_sample_vs_minibatch.py --epochs 20"),
}

# What a page has the reader install first (its not-run `pip install` step), installed here as pip
# would for an editable install: a dist-info folder with the entry points, and the sources on the path.
INSTALLED = {"docs/writing-plugins.md": ["contrib/lamina-prelu"]}


def install(packages, site):
    paths = [str(site)]
    for package in packages:
        project = tomllib.loads((ROOT / package / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        dist_info = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
        dist_info.mkdir(parents=True)
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n", encoding="utf-8")
        points = "".join(f"{name} = {value}\n" for name, value in project["entry-points"]["lamina"].items())
        (dist_info / "entry_points.txt").write_text(f"[lamina]\n{points}", encoding="utf-8")
        paths.append(str(ROOT / package / "src"))
    return os.pathsep.join(paths)


def blocks(page):
    """(language, code, mark, argument) for each fenced block of a page, in order."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found, i, previous = [], 0, ""
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        fence, language = opening.groups()
        end = i + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        mark = MARK.match(previous)
        found.append((language, textwrap.dedent("\n".join(lines[i + 1:end]) + "\n"), *(mark.groups() if mark else (None, None))))
        previous, i = "", end + 1
    return found


def _name(page):
    return page.relative_to(ROOT).as_posix()


def test_the_not_run_list_is_what_the_pages_mark():
    marked = {(_name(page), code.splitlines()[0]) for page in PAGES
              for _, code, mark, _ in blocks(page) if mark == "not run"}
    assert marked == NOT_RUN


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_page_runs(page, tmp_path):
    found = [b for b in blocks(page) if b[2] != "not run"]
    # The pages' commands run from the repository's root, where examples/ is.
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    # Pages write their pictures into docs/exercises/: a copy here, so the checkout's stay as committed.
    (tmp_path / "docs" / "exercises").mkdir(parents=True)
    for script in (ROOT / "docs" / "exercises").glob("*.py"):
        (tmp_path / "docs" / "exercises" / script.name).write_bytes(script.read_bytes())
    for _, code, mark, name in found:
        if mark == "file":
            (tmp_path / name).write_text(code, encoding="utf-8")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)
    if _name(page) in INSTALLED:
        env["PYTHONPATH"] = install(INSTALLED[_name(page)], tmp_path.parent / "site")
    python = [code for language, code, mark, _ in found if language == "python" and mark != "file"]
    if python:
        # Each block is exec'd on its own so a failure names its block; the namespace is shared.
        driver = "ns = {'__name__': '__main__'}\n" + "".join(
            f"print('--- block {n}', flush=True)\nexec(compile({code!r}, 'block {n}', 'exec'), ns)\n"
            for n, code in enumerate(python, 1))
        done = subprocess.run([sys.executable, "-c", driver], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{_name(page)}: {done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    for language, code, mark, _ in found:
        if language != "bash" or mark == "file":
            continue
        commands = [line for line in code.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        assert all(line.startswith(("lamina ", "python docs/", "python examples/", "mkdir -p ")) for line in commands), \
            f"{_name(page)}: a bash block that is not only `lamina` commands must be marked not run:\n{code}"
        done = subprocess.run(["bash", "-e", "-c", textwrap.dedent(code)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{_name(page)}:\n{code}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
