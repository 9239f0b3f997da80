"""Layers on shaped (N-D) inputs: Flatten, Unflatten, BatchNorm2d and the element-wise layers,
matched against PyTorch (float64, to 1e-9) on both backends; and a CNN's state dict carried to
torch.nn and back without reshaping."""

import pytest

import lamina
from conftest import assert_close, check_against_torch, to_torch
from lamina import nn
from lamina.testing import conformance
from lamina.testing.gradcheck import check_module_gradients


RESHAPING = [
    ("Flatten", dict(), (2, 3, 2, 2)),
    ("Flatten", dict(start_dim=2), (2, 3, 2, 2)),
    ("Flatten", dict(start_dim=0, end_dim=-2), (2, 3, 4)),
    ("Unflatten", dict(dim=1, unflattened_size=(3, 2, 2)), (2, 12)),
    ("Unflatten", dict(dim=-1, unflattened_size=(2, -1)), (2, 3, 4)),
    ("Unflatten", dict(dim=0, unflattened_size=(2, 2)), (4, 3)),
]


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("layer, kwargs, shape", RESHAPING)
def test_reshaping_layers_match_pytorch(torch, layer, kwargs, shape):
    check_against_torch(torch, getattr(nn, layer)(**kwargs), getattr(torch.nn, layer)(**kwargs), lamina.randn(*shape))


ELEMENT_WISE = ["ReLU", "Sigmoid", "Tanh", "Identity", "LeakyReLU", "ELU", "GELU", "SiLU"]


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("layer", ELEMENT_WISE)
def test_element_wise_layers_take_any_shape(torch, layer):
    for shape in [(2, 3, 2, 2), (2, 3, 4), (5,)]:
        check_against_torch(torch, getattr(nn, layer)(), getattr(torch.nn, layer)(), lamina.randn(*shape) * 3.0)


@pytest.mark.usefixtures("backend")
def test_dropout_takes_any_shape():
    dropout, x = nn.Dropout(0.5), lamina.randn(4, 3, 2, 2)
    out = dropout(x)
    kept = [o != 0.0 for o in out.reshape(-1).tolist()]
    assert out.shape == x.shape and 0 < sum(kept) < len(kept)
    for o, v, k in zip(out.reshape(-1).tolist(), x.reshape(-1).tolist(), kept):
        assert o == (v * 2.0 if k else 0.0)
    grad = dropout.backward(lamina.ones(4, 3, 2, 2))
    assert grad.shape == x.shape and [g != 0.0 for g in grad.reshape(-1).tolist()] == kept


BATCHNORM2D = [
    dict(),
    dict(affine=False),
    dict(momentum=None),
    dict(momentum=0.3, eps=1e-3, bias=False),
    dict(track_running_stats=False),
]


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("kwargs", BATCHNORM2D, ids=lambda k: ",".join(f"{a}={v}" for a, v in k.items()) or "defaults")
def test_batchnorm2d_matches_pytorch_in_training_and_eval(torch, kwargs):
    bn, twin = nn.BatchNorm2d(3, **kwargs), torch.nn.BatchNorm2d(3, **kwargs)
    for p in bn.parameters():
        p.copy_(lamina.randn(*p.shape) + 1.0)
    twin.load_state_dict({k: to_torch(torch, v) for k, v in bn.state_dict().items()})
    for step in range(3):  # several batches, so the running statistics accumulate
        check_against_torch(torch, bn, twin, lamina.randn(4, 3, 2, 3) * (step + 1.0) + step)
        bn.zero_grad(), twin.zero_grad()
    for key, value in twin.state_dict().items():
        assert bn.state_dict()[key].shape == tuple(value.shape)
        assert_close(bn.state_dict()[key], value)
    bn.eval(), twin.eval()
    check_against_torch(torch, bn, twin, lamina.randn(2, 3, 3, 2))


def test_batchnorm2d_state_dict_has_pytorchs_keys_and_shapes(torch):
    ours, theirs = nn.BatchNorm2d(4).state_dict(), torch.nn.BatchNorm2d(4).state_dict()
    assert list(ours) == list(theirs)
    assert {k: v.shape for k, v in ours.items()} == {k: tuple(v.shape) for k, v in theirs.items()}


def test_batchnorm2d_errors():
    with pytest.raises(lamina.ShapeError, match=r"BatchNorm2d\(num_features=3\) takes \(N, 3, H, W\) input, got "
                                                r"shape \(2, 4, 2, 2\)"):
        nn.BatchNorm2d(3)(lamina.randn(2, 4, 2, 2))
    with pytest.raises(lamina.ShapeError, match=r"BatchNorm2d needs more than 1 value per feature in training"):
        nn.BatchNorm2d(3)(lamina.randn(1, 3, 1, 1))


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm2d_gradients(training):
    bn = nn.BatchNorm2d(2)
    bn(lamina.randn(3, 2, 2, 2))
    bn.train(training)
    for p in bn.parameters():
        p.copy_(lamina.randn(*p.shape) + 1.0)
    check_module_gradients(bn, lamina.randn(3, 2, 2, 2))


@pytest.mark.parametrize("case", [c for name in ("Flatten", "Unflatten", "BatchNorm2d", "LayerNorm")
                                  for c in conformance.cases(getattr(nn, name))], ids=lambda c: c.id)
def test_conformance_kit(case):
    case()


def test_unflatten_refuses_bad_sizes():
    with pytest.raises(ValueError, match=r"Unflatten\(unflattened_size=3\): unflattened_size must be a tuple"):
        nn.Unflatten(1, 3)
    with pytest.raises(lamina.ShapeError, match=r"shape \(4, 4\) is invalid for a tensor of 12 values"):
        nn.Unflatten(1, (4, 4))(lamina.randn(2, 12))


def test_linear_names_an_image_shape_and_suggests_flatten():
    with pytest.raises(lamina.ShapeError, match=r"Linear\(in_features=12\) takes a 2-D \(batch, features\) input, "
                                                r"got shape \(2, 3, 2, 2\); put nn.Flatten\(\) before it"):
        nn.Linear(12, 4)(lamina.randn(2, 3, 2, 2))


LAYER_NORMS = [
    (dict(normalized_shape=4), (2, 3, 4)),
    (dict(normalized_shape=(3, 4)), (2, 3, 4)),
    (dict(normalized_shape=[2, 2, 3], bias=False), (2, 2, 2, 3)),
    (dict(normalized_shape=(2, 3), elementwise_affine=False, eps=1e-3), (3, 2, 3)),
    (dict(normalized_shape=(2, 3)), (2, 3)),
]


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("kwargs, shape", LAYER_NORMS)
def test_layer_norm_over_several_dimensions_matches_pytorch(torch, kwargs, shape):
    module, twin = nn.LayerNorm(**kwargs), torch.nn.LayerNorm(**kwargs)
    for p in module.parameters():
        p.copy_(lamina.randn(*p.shape) + 1.0)
    twin.load_state_dict({k: to_torch(torch, v) for k, v in module.state_dict().items()})
    check_against_torch(torch, module, twin, lamina.randn(*shape) * 3.0 + 1.0)
    check_module_gradients(module, lamina.randn(*shape))


def test_layer_norm_names_the_dimensions_it_expected():
    with pytest.raises(lamina.ShapeError, match=r"LayerNorm\(normalized_shape=\(2, 3\)\) got input of shape "
                                                r"\(4, 3, 2\); its last dimensions must be \(2, 3\)"):
        nn.LayerNorm((2, 3))(lamina.randn(4, 3, 2))


# --- a CNN, carried to torch.nn and back ----------------------------------------------------
def lamina_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(6 * 2 * 2, 10))


def torch_cnn(torch):
    T = torch.nn
    return T.Sequential(T.Conv2d(1, 4, 3, padding=1), T.ReLU(), T.MaxPool2d(2),
                        T.Conv2d(4, 6, 3, padding=1), T.ReLU(), T.MaxPool2d(2),
                        T.Flatten(), T.Linear(6 * 2 * 2, 10))


@pytest.mark.usefixtures("backend")
def test_cnn_state_dict_loads_into_torch_without_reshaping_and_back(torch):
    model, x = lamina_cnn(), lamina.randn(3, 1, 8, 8)
    sd = model.state_dict()
    twin = torch_cnn(torch)
    twin.load_state_dict({k: torch.tensor(v.tolist()) for k, v in sd.items()})
    assert_close(model(x), twin(to_torch(torch, x)).detach())

    torch.manual_seed(0)
    trained = torch_cnn(torch)  # other weights, brought into lamina from torch
    back = lamina_cnn()
    back.load_state_dict({k: v.detach().numpy() for k, v in trained.state_dict().items()})
    assert_close(back(x), trained(to_torch(torch, x)).detach())
    back.load_state_dict({k: v.tolist() for k, v in trained.state_dict().items()})
    assert_close(back(x), trained(to_torch(torch, x)).detach())


def test_a_model_file_of_every_new_layer_reloads_and_predicts_identically(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 4, (3, 2), padding="same"), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2, ceil_mode=True), nn.AvgPool2d(2, padding=1), nn.AdaptiveAvgPool2d((2, None)),
                          nn.Flatten(), nn.Unflatten(1, (2, -1)), nn.LayerNorm((2, 12)), nn.Flatten(),
                          nn.Unflatten(1, (4, 6)), nn.Conv1d(4, 2, 3, padding=1, groups=2), nn.MaxPool1d(2),
                          nn.Flatten(), nn.Linear(6, 3))
    x = lamina.randn(2, 1, 8, 8)
    model(x)  # a training step, so that BatchNorm2d's running statistics are not their start
    model.eval()
    lamina.save(model, tmp_path / "cnn.json")
    reloaded = lamina.load(tmp_path / "cnn.json").eval()
    assert reloaded(x).tolist() == model(x).tolist()
    assert repr(reloaded) == repr(model)


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("layer, dim", [("Softmax", 1), ("LogSoftmax", 1), ("Softmax", 2), ("LogSoftmax", -1)])
def test_softmax_layers_along_any_dim_of_an_image_batch_as_pytorch(torch, layer, dim):
    check_against_torch(torch, getattr(nn, layer)(dim=dim), getattr(torch.nn, layer)(dim=dim), lamina.randn(2, 3, 4, 5))


def test_a_softmax_dim_the_input_lacks_is_one_line():
    with pytest.raises(IndexError, match=r"dim 3 is out of range for a tensor with 2 dimensions"):
        nn.Softmax(dim=3)(lamina.randn(2, 4))
