"""Modules, data loading, determinism, plugin provenance and the errors a user can cause."""

import importlib.util
import random
import subprocess
import sys
from pathlib import Path

import pytest

import lamina
from lamina import nn, optim
from lamina.data import DataLoader, TensorDataset
from lamina.plugin_system.manager import PluginManager

# Every test here runs once per backend (numpy's run skips where numpy is not installed).
pytestmark = pytest.mark.usefixtures("backend")

ROOT = Path(__file__).resolve().parents[1]


# --- modules ------------------------------------------------------------------------------------

def test_gradients_accumulate_until_zero_grad():
    layer = nn.Linear(3, 2)
    x, upstream = lamina.randn(4, 3), lamina.randn(4, 2)
    layer(x)
    layer.backward(upstream)
    once = layer.weight.grad.tolist()
    layer.backward(upstream)
    assert layer.weight.grad.tolist() == [[2 * v for v in row] for row in once]
    optim.SGD(layer.parameters(), lr=0.1).zero_grad()
    assert layer.weight.grad is None


def test_train_and_eval_propagate_to_every_child():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(2)))
    model.eval()
    assert [m.training for m in model.modules()] == [False] * 5
    model.train()
    assert all(m.training for m in model.modules())


def test_dropout_is_inverted_in_training_and_identity_in_eval():
    drop = nn.Dropout(0.25)
    x = lamina.ones(200, 50)
    out = drop(x).tolist()
    kept = [v for row in out for v in row if v != 0.0]
    assert set(kept) == {1 / 0.75}
    assert 0.2 < 1 - len(kept) / 10000 < 0.3
    assert drop.eval()(x).tolist() == x.tolist()


def test_load_state_dict_takes_nested_lists_and_pytorch_shapes():
    layer = nn.Linear(2, 3)
    layer.load_state_dict({"weight": [[1, 2], [3, 4], [5, 6]], "bias": [0.5, 0.25, 0.125]})
    assert layer.bias.tolist() == [0.5, 0.25, 0.125]
    assert layer(lamina.tensor([[1.0, 1.0]])).tolist() == [[3.5, 7.25, 11.125]]


def test_load_state_dict_names_missing_unexpected_and_misshapen_keys():
    layer = nn.Linear(2, 3)
    with pytest.raises(KeyError, match=r"missing keys \['bias'\].*unexpected keys \['extra'\]"):
        layer.load_state_dict({"weight": [[0.0] * 2] * 3, "extra": [[1.0]]})
    with pytest.raises(lamina.StateDictError, match=r"'weight' has shape \(2, 3\) in the state dict, the model expects \(3, 2\)"):
        layer.load_state_dict({"weight": [[0.0] * 3] * 2, "bias": [0.0] * 3})


# --- data ---------------------------------------------------------------------------------------

def test_dataloader_batches_lengths_and_drop_last():
    data = TensorDataset(lamina.tensor([[float(i)] for i in range(10)]), lamina.zeros(10, 1))
    assert len(DataLoader(data, batch_size=4)) == 3
    assert len(DataLoader(data, batch_size=4, drop_last=True)) == 2
    batches = [x.tolist() for x, _ in DataLoader(data, batch_size=4)]
    assert batches == [[[0.0], [1.0], [2.0], [3.0]], [[4.0], [5.0], [6.0], [7.0]], [[8.0], [9.0]]]
    shuffled = [v[0] for x, _ in DataLoader(data, batch_size=3, shuffle=True) for v in x.tolist()]
    assert sorted(shuffled) == [float(i) for i in range(10)] and shuffled != sorted(shuffled)


def test_shuffled_batches_keep_each_samples_fields_together_at_every_rank():
    # Row i of every field holds i: a batch taken from storage must take the same rows of each field.
    images = lamina.tensor([[[float(i)] * 3] * 2 for i in range(10)])  # (10, 2, 3)
    labels, table = lamina.tensor([float(i) for i in range(10)]), lamina.tensor([[float(i)] for i in range(10)])
    seen = []
    for x, y, z in DataLoader(TensorDataset(images, labels, table), batch_size=4, shuffle=True):
        assert x.shape[1:] == (2, 3) and y.dim() == 1 and z.shape[1:] == (1,)
        assert [row[0][0] for row in x.tolist()] == y.tolist() == [row[0] for row in z.tolist()]
        seen += y.tolist()
    assert sorted(seen) == [float(i) for i in range(10)] and seen != sorted(seen)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 17, 400, 1437])
def test_the_loaders_shuffle_is_pythons_order_from_the_same_generator_state(size):
    """lamina.data.shuffle inlines random.shuffle's per-item call: the same draws, the same order, the
    generator left in the same state (a seeded run and a resumed one keep their batches)."""
    from lamina.data import shuffle

    for seed in range(5):
        ours, reference = random.Random(seed), random.Random(seed)
        items, expected = list(range(size)), list(range(size))
        shuffle(items, ours)
        reference.shuffle(expected)
        assert items == expected and ours.getstate() == reference.getstate()


def test_dataloader_rejects_a_bad_batch_size():
    data = TensorDataset(lamina.zeros(3, 1))
    with pytest.raises(ValueError, match="batch_size=0"):
        DataLoader(data, batch_size=0)


# --- determinism --------------------------------------------------------------------------------

def short_run(seed):
    lamina.manual_seed(seed)
    x, y = lamina.registry().create("datasets", "circle", n=120)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 1), nn.Sigmoid())
    trainer = lamina.Trainer(model, nn.BCELoss(), optim.Adam(model.parameters(), lr=0.01), max_epochs=3)
    trainer.fit(DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True))
    return [p.tolist() for p in model.parameters()]


def test_same_seed_gives_bit_identical_weights_and_another_seed_does_not():
    assert short_run(7) == short_run(7)
    assert short_run(7) != short_run(8)


# --- plugins ------------------------------------------------------------------------------------

def test_every_builtin_component_records_its_distribution():
    entry = lamina.registry().entry("modules", "Linear")
    assert entry.provider.distribution == "lamina"
    assert entry.provider.plugin == "lamina.layers"


def test_blocking_a_builtin_plugin_removes_exactly_its_components():
    manager = PluginManager(block=["lamina.layers"])
    registry = manager.load()
    assert "Linear" not in registry.names("modules")
    assert "ReLU" in registry.names("modules")  # another plugin's components stay
    assert {p.name: p.status for p in manager.plugins}["lamina.layers"] == "blocked"
    with pytest.raises(lamina.UnknownComponentError, match="no module named 'Linear'"):
        registry.get("modules", "Linear")


def test_an_unknown_name_lists_the_closest_registered_names():
    with pytest.raises(lamina.UnknownComponentError, match="Did you mean Linear"):
        nn.Lineer
    assert not hasattr(nn, "NoSuchLayer")


# --- errors -------------------------------------------------------------------------------------

def test_a_layer_fed_the_wrong_width_names_itself_and_both_widths():
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU())
    with pytest.raises(lamina.ShapeError) as error:
        model(lamina.randn(16, 3))
    assert str(error.value) == "layer 0 (Linear): Linear(in_features=2) got input with 3 features (batch of 16)"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: nn.Dropout(p=1.5), r"Dropout\(p=1.5\): p must be in \[0, 1\), got 1.5"),
        (lambda: nn.Linear(0, 3), r"Linear\(in_features=0\): in_features must be >= 1"),
        (lambda: nn.Linear(2.5, 3), r"in_features must be an integer"),
        (lambda: optim.Adam([nn.Parameter(lamina.tensor([[1.0]]))], lr=-1), r"Adam\(lr=-1\): lr must be >= 0.0"),
        (lambda: nn.BCELoss(reduction="avg"), r"reduction must be one of 'mean', 'sum', 'none'"),
    ],
)
def test_bad_hyperparameters_name_the_parameter_and_the_value(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_bad_tensor_input_says_what_was_expected():
    with pytest.raises(lamina.ShapeError, match=r"equal-length lists at each level, got items of shapes \[\(2,\), \(1,\)\]"):
        lamina.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match=r"the value at \[0\]\[1\] is .2. \(str\), expected a number"):
        lamina.tensor([[1, "2"]])
    with pytest.raises(TypeError, match="expects a lamina Tensor"):
        nn.Linear(2, 1)([[1.0, 2.0]])


# --- end to end ---------------------------------------------------------------------------------

def test_lamina_train_reaches_95_percent_on_the_circle_task():
    result = subprocess.run([sys.executable, "-m", "lamina.cli", "train"], capture_output=True, text=True, check=True)
    accuracy = float(result.stdout.strip().splitlines()[-1].split()[-1].rstrip("%"))
    assert accuracy >= 95.0, result.stdout


def test_the_circle_benchmark_runs_and_reports_ratios():
    script = ROOT / "benchmarks" / "circle.py"
    baselines = ROOT.parent / "shared" / "baselines"
    if not baselines.exists():
        pytest.skip("../shared/baselines is not beside this checkout")
    result = subprocess.run([sys.executable, str(script), "--epochs", "2", "--numpy-epochs", "4", "--repeats", "1"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr  # the benchmark's own error, not just its exit status
    assert "lamina time / baseline time" in result.stdout
    assert "vs purepy_circle.py" in result.stdout and "target lamina <= 1.3x purepy_circle.py" in result.stdout
    assert "target lamina numpy <= 1.3x numpy_circle.py" in result.stdout  # numpy is a test dependency
    assert "the numpy pair ran 4 epochs, scaled" in result.stdout


def test_a_baseline_that_printed_zero_seconds_gives_no_ratio_rather_than_a_crash():
    spec = importlib.util.spec_from_file_location("circle_benchmark", ROOT / "benchmarks" / "circle.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    assert benchmark.ratio_text(1.0, 0.0).strip() == "n/a"
    assert benchmark.ratio_text(3.0, 2.0).strip() == "1.50x"
