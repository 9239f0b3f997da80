"""The house: a learner's core that stands alone and fits in an afternoon, files of one idea each,
every module reachable by its dotted name, no import cycles, and one training step followed
through at most eight files."""

import ast
import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lamina

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core"
PLUGINS = ROOT / "plugins"
# Where each import package's files live (pyproject.toml maps them with package-dir).
PACKAGES = {"lamina": CORE, "lamina.plugins": PLUGINS}
LEARNERS_CORE = sorted(CORE.glob("*.py"))
SUBPACKAGES = sorted(p.name for p in CORE.iterdir() if (p / "__init__.py").exists())

CORE_BUDGET = 2000
FILE_BUDGET = 400
TRAINER_BUDGET = 300
STEP_BUDGET = 8


def lines(path):
    return len(path.read_text().splitlines())


def all_modules():
    """Every module of lamina, by dotted name, with its file."""
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


MODULES = all_modules()


def imported_modules(name, path, nested=True):
    """The lamina modules `name` imports (at module level, or anywhere when nested)."""
    tree = ast.parse(path.read_text())
    nodes = ast.walk(tree) if nested else tree.body
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in nodes:
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # `from lamina.x import name`: the module is lamina.x
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def test_the_learners_core_is_at_most_2000_lines_and_no_file_over_400():
    sizes = {path.name: lines(path) for path in LEARNERS_CORE}
    assert sum(sizes.values()) <= CORE_BUDGET, f"the learner's core is {sum(sizes.values())} lines: {sizes}"
    everything = [*CORE.rglob("*.py"), *PLUGINS.rglob("*.py"), *ROOT.glob("contrib/*/src/**/*.py")]
    too_long = {str(p.relative_to(ROOT)): lines(p) for p in everything if lines(p) > FILE_BUDGET}
    assert not too_long, f"files over {FILE_BUDGET} lines: {too_long}"


def test_the_trainer_holds_the_loop_in_at_most_300_lines():
    assert lines(CORE / "trainer.py") <= TRAINER_BUDGET


def test_the_learners_core_imports_nothing_from_the_subpackages_or_the_plugins():
    forbidden = [f"lamina.{name}" for name in SUBPACKAGES] + ["lamina.plugins"]
    offenders = {
        path.name: sorted(target for target in imported_modules(f"lamina.{path.stem}", path)
                          if any(target == f or target.startswith(f + ".") for f in forbidden))
        for path in LEARNERS_CORE if path.name != "__init__.py"  # the package's table of contents
    }
    assert not {k: v for k, v in offenders.items() if v}, offenders


REACH = """
import importlib, sys
import lamina
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    reached = lamina
    for part in name.split(".")[1:]:
        reached = getattr(reached, part)
    if reached is not module:
        print(f"{name} is {reached!r}, not the module")
    elif not module.__doc__:
        print(f"{name} has no docstring saying what it is")
"""


def test_production_code_never_imports_the_test_kit():
    offenders = sorted(
        name for name, path in MODULES.items()
        if not name.startswith("lamina.testing")
        and any(target.startswith("lamina.testing") for target in imported_modules(name, path))
    )
    assert offenders == []


def test_every_module_is_reachable_by_its_dotted_name():
    """`import lamina.x.y` then `lamina.x.y.<attribute>`, in a fresh process: no module is shadowed
    by a function or class of the same name, and each says in a docstring what it is."""
    names = sorted(name for name in MODULES if not name.endswith("__main__"))
    result = subprocess.run([sys.executable, "-c", REACH, *names], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""


def test_a_module_reached_in_a_fresh_process_gives_its_attributes():
    code = "import lamina.tensors, lamina.component, lamina.plugin_system.manager as m; " \
           "print(lamina.tensors.Tensor.__name__, lamina.component.registry.__name__, m.PluginManager.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["Tensor", "registry", "PluginManager"]


def strongly_connected(graph):
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], itertools.count()

    def visit(node):
        index[node] = low[node] = next(counter)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("nested", [False, True], ids=["module-level imports", "every import"])
def test_no_import_cycles(nested):
    graph = {name: set(imported_modules(name, path, nested)) for name, path in MODULES.items()}
    assert strongly_connected(graph) == []


def test_the_finder_finds_a_cycle():
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_top_level_name_is_a_twin_of_another():
    """callback/callbacks, optimizer/optim: a learner should not have to guess which to open."""
    names = sorted({p.stem for p in LEARNERS_CORE if p.name != "__init__.py"} | set(SUBPACKAGES))
    twins = [(a, b) for a, b in itertools.combinations(names, 2) if b.startswith(a) or a.startswith(b)]
    assert twins == []


STEP = """
import sys
import lamina
from lamina import nn, optim
from lamina.data import DataLoader, TensorDataset

from lamina.pure_python import PurePythonBackend

lamina.set_backend(PurePythonBackend())  # the kernels as a learner reads them (the default is their fast twin)
lamina.manual_seed(42)
x, y = lamina.registry().create("datasets", "circle")
xb, yb = next(iter(DataLoader(TensorDataset(x[:400], y[:400]), batch_size=16, shuffle=True)))
model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
loss_fn = nn.BCELoss()
opt = optim.Adam(model.parameters(), lr=0.01)

files = set()
sys.setprofile(lambda frame, event, arg: files.add(frame.f_code.co_filename) if event == "call" else None)
loss = loss_fn(model(xb), yb)
opt.zero_grad()
model.backward(loss_fn.backward())
opt.step()
sys.setprofile(None)
print("\\n".join(sorted(files)))
"""


def test_one_training_step_is_followed_through_at_most_eight_files():
    """The README's step (forward, loss, zero_grad, backward, step) of a Linear/ReLU/Sigmoid model
    with BCELoss and Adam, traced on the reference kernels: every lamina file a call enters is one
    a learner would open."""
    out = subprocess.run([sys.executable, "-c", STEP], capture_output=True, text=True, check=True).stdout
    files = {Path(f).resolve() for f in out.split("\n") if f}
    ours = sorted(str(f.relative_to(ROOT)) for f in files if ROOT in f.parents and ".venv" not in f.parts)
    assert len(ours) <= STEP_BUDGET, ours
    assert "core/tensors.py" in ours and "plugins/layers.py" in ours  # the trace sees lamina's files


def test_the_reading_guide_names_every_file_of_the_learners_core_in_order():
    guide = (ROOT / "docs" / "reading-guide.md").read_text()
    named = re.findall(r"`core/(\w+\.py)`", guide)
    missing = [p.name for p in LEARNERS_CORE if p.name not in named]
    assert missing == [], f"docs/reading-guide.md does not name {missing}"
    assert named.index("tensors.py") < named.index("module.py") < named.index("trainer.py")


def test_every_package_is_in_the_distribution():
    """A subpackage missing from pyproject.toml works in a checkout and is absent once installed."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    assert packages - listed == set()
