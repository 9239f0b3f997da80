"""lamina.save / lamina.load: exact round trips, checkpoints, safe loading, atomic writes."""

import json
import os
import subprocess
import sys

import pytest

import lamina
from lamina import nn, optim
from lamina.errors import FileFormatError, StateDictError, UnknownComponentError


def trained_model():
    """A model with every kind of state: weights, BatchNorm running statistics, Dropout."""
    model = nn.Sequential(
        nn.Linear(3, 8),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(8, 4, bias=False),
        nn.Tanh(),
        nn.Linear(4, 1),
        nn.Sigmoid(),
    )
    opt = optim.Adam(model.parameters(), lr=0.05)
    loss_fn = nn.BCELoss()
    x = lamina.randn(16, 3)
    y = x.sum(1, keepdim=True) > 0.0
    for _ in range(5):
        loss_fn(model(x), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
    return model, opt, x


def bits(t):
    return [v.hex() for v in t.flatten().tolist()]


PREDICT_IN_NEW_PROCESS = """
import json, sys
import lamina
model = lamina.load(sys.argv[1])
x = lamina.tensor(json.loads(sys.argv[2]))
lamina.manual_seed(7)
first = model(x)          # in the mode the model was saved in
model.train()
lamina.manual_seed(7)
training = model(x)       # batch statistics, a Dropout mask from seed 7
print(json.dumps([[v.hex() for v in t.flatten().tolist()] for t in (first, training)]))
"""


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_a_model_reloaded_in_another_process_predicts_bit_identically(tmp_path, mode):
    model, _, x = trained_model()
    model.train(mode == "train")
    path = tmp_path / "model.json"
    lamina.save(model, path)
    lamina.manual_seed(7)
    expected_first = bits(model(x))
    model.train()
    lamina.manual_seed(7)
    expected_training = bits(model(x))
    run = subprocess.run(
        [sys.executable, "-c", PREDICT_IN_NEW_PROCESS, str(path), json.dumps(x.tolist())],
        capture_output=True,
        text=True,
        check=True,
    )
    first, training = json.loads(run.stdout)
    assert first == expected_first
    assert training == expected_training
    # The running statistics really were used in eval mode: they differ from the batch's.
    if mode == "eval":
        assert first != training


def test_a_reloaded_model_keeps_config_mode_and_every_state_value(tmp_path):
    model, _, _ = trained_model()
    model.eval()
    model[3].train()  # modes are per module
    lamina.save(model, tmp_path / "m.json")
    loaded = lamina.load(tmp_path / "m.json")
    assert repr(loaded) == repr(model)
    assert [m.training for m in loaded.modules()] == [m.training for m in model.modules()]
    assert loaded.state_dict().keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        assert bits(loaded.state_dict()[key]) == bits(value), key
    assert loaded[1].num_batches_tracked.item() == 5.0


def test_loading_leaves_the_random_stream_where_it_was(tmp_path):
    model, _, _ = trained_model()
    lamina.save(model, tmp_path / "m.json")
    lamina.manual_seed(3)
    lamina.load(tmp_path / "m.json")  # rebuilding runs the initialisers
    after_load = lamina.rand(1, 4).tolist()
    lamina.manual_seed(3)
    assert lamina.rand(1, 4).tolist() == after_load


def test_a_checkpoint_resumes_training_exactly(tmp_path):
    model, opt, x = trained_model()
    y = x.sum(1, keepdim=True) > 0.0
    loss_fn = nn.BCELoss()

    def steps(model, opt, count):
        for _ in range(count):
            loss_fn(model(x), y)
            opt.zero_grad()
            model.backward(loss_fn.backward())
            opt.step()

    lamina.manual_seed(11)
    checkpoint = {
        "model": model,
        "optimizer": opt.state_dict(),
        "rng": lamina.get_rng_state(),
        "trainer": {"epoch": 5, "best": 0.25, "done": False, "note": None},
        "callbacks": [{"wait": 2}],
    }
    lamina.save(checkpoint, tmp_path / "ckpt.json")
    steps(model, opt, 3)

    restored = lamina.load(tmp_path / "ckpt.json")
    assert restored["trainer"] == {"epoch": 5, "best": 0.25, "done": False, "note": None}
    assert restored["callbacks"] == [{"wait": 2}]
    assert restored["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples stay tuples
    assert sorted(restored["optimizer"]["state"]) == list(range(len(model.parameters())))  # int keys
    resumed_model = restored["model"]
    resumed_opt = optim.Adam(resumed_model.parameters(), lr=0.05)
    resumed_opt.load_state_dict(restored["optimizer"])
    lamina.set_rng_state(restored["rng"])  # the Dropout masks continue from the same point
    steps(resumed_model, resumed_opt, 3)
    for key, value in model.state_dict().items():
        assert bits(resumed_model.state_dict()[key]) == bits(value), key


def test_a_tensor_and_nested_values_round_trip(tmp_path):
    value = {"t": lamina.tensor([[1.0, -2.5e-300], [float("inf"), 0.1]]), 3: [(1, "a"), {"k": None}]}
    lamina.save(value, tmp_path / "v.json")
    loaded = lamina.load(tmp_path / "v.json")
    assert bits(loaded["t"]) == bits(value["t"])
    assert loaded[3] == [(1, "a"), {"k": None}]


def test_save_refuses_an_unregistered_module_naming_the_class_and_the_fix(tmp_path):
    class Doubler(nn.Module):
        def forward(self, x):
            return x * 2.0

    with pytest.raises(
        TypeError,
        match=r"model\[1\] \(.*Doubler\).*not a registered module.*"
        r'@lamina.register\("modules"\)',
    ):
        lamina.save(nn.Sequential(nn.Linear(2, 2), Doubler()), tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_save_refuses_what_a_checkpoint_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match=r"checkpoint\['x'\]\[0\], of type object"):
        lamina.save({"x": [object()]}, tmp_path / "c.json")
    with pytest.raises(TypeError, match="a Module or a checkpoint dict, got str"):
        lamina.save("model", tmp_path / "c.json")


def test_a_component_registered_in_process_saves_and_loads_by_name(tmp_path):
    from lamina.component import component, field, number

    @lamina.register("modules", override=True)
    @component
    class Scale(nn.Module):
        """x * factor."""

        factor: float = field(default=1.0, validator=number)

        def forward(self, x):
            return x * self.factor

    lamina.save(nn.Sequential(Scale(2.5)), tmp_path / "m.json")
    loaded = lamina.load(tmp_path / "m.json")
    assert isinstance(loaded[0], Scale) and loaded[0].factor == 2.5
    assert loaded(lamina.tensor([[2.0]])).item() == 5.0


def test_layers_a_component_builds_inside_itself_follow_its_saved_mode(tmp_path):
    from lamina.component import component, field, number

    @lamina.register("modules", override=True)
    @component
    class NoisyIdentity(nn.Module):
        """Dropout inside a component: its mode is the component's."""

        p: float = field(default=0.5, validator=number)

        def __attrs_post_init__(self):
            self.dropout = nn.Dropout(self.p)

        def forward(self, x):
            return self.dropout(x)

    lamina.save(nn.Sequential(NoisyIdentity(0.9)).eval(), tmp_path / "m.json")
    loaded = lamina.load(tmp_path / "m.json")
    assert loaded[0].dropout.training is False
    x = lamina.ones(4, 4)
    assert loaded(x).tolist() == x.tolist()


# --- files that must be refused -----------------------------------------------------------


def saved_document(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    path = tmp_path / "m.json"
    lamina.save(model, path)
    return path, json.loads(path.read_text())


def refused(path, error=FileFormatError):
    with pytest.raises(error) as raised:
        lamina.load(path)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(str(path))
    return message


def test_a_component_name_that_is_an_importable_path_is_refused(tmp_path, monkeypatch):
    path, document = saved_document(tmp_path)
    document["model"]["architecture"]["children"][1]["name"] = "os.system"
    document["model"]["architecture"]["children"][1]["config"] = {"command": "touch pwned"}
    path.write_text(json.dumps(document))
    monkeypatch.chdir(tmp_path)
    message = refused(path, UnknownComponentError)
    assert "model.architecture.children[1]: no module named 'os.system' is registered" in message
    assert not (tmp_path / "pwned").exists()


def test_a_component_from_a_missing_plugin_names_the_distribution_the_file_records(tmp_path):
    path, document = saved_document(tmp_path)
    layer = document["model"]["architecture"]["children"][1]
    layer["name"] = "Swishy"
    layer["provider"] = {"distribution": "lamina-swish", "version": "2.1", "plugin": "swish"}
    path.write_text(json.dumps(document))
    message = refused(path, UnknownComponentError)
    assert "'Swishy'" in message and "came from lamina-swish 2.1" in message


def test_truncated_corrupted_foreign_and_future_files_fail_with_one_line(tmp_path):
    path, document = saved_document(tmp_path)
    text = path.read_text()

    path.write_text(text[: len(text) // 2])
    assert "truncated" in refused(path)

    path.write_bytes(text.encode()[:40] + b"\xff\xfe garbage" + text.encode()[50:])
    assert "not UTF-8" in refused(path)

    path.write_text(text.replace('"shape":[3,2]', '"shape":[2,3]'))
    assert "'0.weight' has shape (2, 3) in the state dict, the model expects (3, 2)" in refused(path)

    path.write_text(text.replace('"data":[', '"data":["x",', 1))
    assert "declares 6 values but the file holds 7" in refused(path)

    path.write_text(json.dumps({"weights": [1, 2, 3]}))
    assert "not a lamina file" in refused(path)

    path.write_text(json.dumps({**document, "version": 2}))
    assert "format version 2 by a newer lamina" in refused(path)

    path.write_text("")
    assert "truncated" in refused(path)


def test_a_huge_declared_tensor_shape_is_refused_before_allocation(tmp_path):
    path, document = saved_document(tmp_path)
    document["model"]["state_dict"]["0.weight"]["shape"] = [10**9, 10**9]
    path.write_text(json.dumps(document))
    assert "declares 1000000000000000000 values but the file holds 6" in refused(path)


def test_a_layer_sized_beyond_its_stored_weights_is_refused_before_it_is_built(tmp_path, monkeypatch):
    path, document = saved_document(tmp_path)
    document["model"]["architecture"]["children"][0]["config"]["in_features"] = 10**8
    document["model"]["architecture"]["children"][0]["config"]["out_features"] = 10**8
    path.write_text(json.dumps(document))
    # Building it would allocate 10^16 values; prove nothing is allocated by failing if it is.
    backend = lamina.get_backend()
    monkeypatch.setattr(type(backend), "full", lambda *a: pytest.fail("allocated"))
    assert "Linear(in_features=100000000, out_features=100000000) declares sizes" in refused(path)


def test_deep_nesting_and_enormous_numbers_are_refused(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(
        '{"format": "lamina", "version": 1, "checkpoint": ' + "[" * 100000 + "]" * 100000 + "}"
    )
    assert "nested" in refused(path)

    nested = 1
    for _ in range(80):
        nested = [nested]
    path.write_text(json.dumps({"format": "lamina", "version": 1, "checkpoint": nested}))
    assert "nested more than 64 deep" in refused(path)

    path.write_text('{"format": "lamina", "version": 1' + "0" * 100000 + "}")
    assert "a number written with 100001 characters" in refused(path)


def test_a_value_with_an_unknown_tag_is_refused(tmp_path):
    path, _ = saved_document(tmp_path)
    path.write_text(json.dumps({"format": "lamina", "version": 1, "checkpoint": {"pickle": "x"}}))
    assert "checkpoint: not a value lamina writes" in refused(path)


def test_formats_are_chosen_by_extension_or_by_name(tmp_path):
    model = nn.Sequential(nn.Linear(2, 1))
    with pytest.raises(
        FileFormatError, match=r"no save format claims the extension '.bin'; lamina's files end in .json"
    ):
        lamina.save(model, tmp_path / "m.bin")
    lamina.save(model, tmp_path / "m.bin", format="json")
    assert isinstance(lamina.load(tmp_path / "m.bin", format="json"), nn.Sequential)
    with pytest.raises(UnknownComponentError, match="no save format named 'yaml'"):
        lamina.save(model, tmp_path / "m.json", format="yaml")


# --- atomic writes ------------------------------------------------------------------------


def test_an_interrupted_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    lamina.save(nn.Sequential(nn.Linear(2, 1)), path)
    before = path.read_bytes()

    def disk_failure(descriptor):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_failure)
    with pytest.raises(OSError, match="No space left"):
        lamina.save(nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 1)), path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.json"]  # no temporary file left behind
    monkeypatch.undo()
    assert lamina.load(path)[0].out_features == 1


def test_a_new_file_gets_ordinary_permissions(tmp_path):
    lamina.save(nn.Sequential(nn.Linear(2, 1)), tmp_path / "m.json")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(tmp_path / "m.json").st_mode & 0o777 == 0o666 & ~umask


# --- load_state_dict ------------------------------------------------------------------------


def test_load_state_dict_reports_every_problem_by_name_and_copies_nothing():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    before = model.state_dict()
    state = dict(before)
    del state["1.running_var"]
    state["2.weight"] = lamina.zeros(1, 1)
    state["0.weight"] = lamina.zeros(2, 3)
    with pytest.raises(StateDictError) as raised:
        model.load_state_dict(state)
    message = str(raised.value)
    assert "missing keys ['1.running_var']" in message
    assert "unexpected keys ['2.weight']" in message
    assert "'0.weight' has shape (2, 3) in the state dict, the model expects (3, 2)" in message
    assert model.state_dict()["1.weight"].tolist() == before["1.weight"].tolist()


def test_load_state_dict_not_strict_returns_the_differences_but_still_checks_shapes():
    model = nn.Sequential(nn.Linear(2, 3))
    missing, unexpected = model.load_state_dict(
        {"0.weight": lamina.ones(3, 2), "extra": lamina.ones(1, 1)}, strict=False
    )
    assert (missing, unexpected) == (["0.bias"], ["extra"])
    assert model[0].weight.tolist() == [[1.0, 1.0]] * 3
    with pytest.raises(StateDictError, match="'0.weight' has shape"):
        model.load_state_dict({"0.weight": lamina.ones(2, 3)}, strict=False)
