"""Tensors read their 2-D storage through PyTorch's shapes; state dicts carry PyTorch's shapes."""

from pathlib import Path

import lamina

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_model_file_written_by_lamina_0_1_still_loads_and_predicts_identically():
    # Written by lamina 0.1, whose biases and running statistics were (1, n) rows.
    model = lamina.load(FIXTURES / "lamina01_mlp_batchnorm.json")
    x = lamina.tensor([[0.1, 0.2, 0.3], [-1.0, 0.5, 2.0]])
    assert model(x).tolist() == [[-0.10819880788729946, 0.03366128580232602],
                                 [-1.4468354842446318, 0.27684508932824065]]


# --- the Tensor's shape API, against PyTorch, on both backends --------------------------------------

import pytest  # noqa: E402

from conftest import to_torch  # noqa: E402


def pair(torch, *shape, seed=0):
    """A lamina tensor of `shape` and the same values in PyTorch (float64)."""
    lamina.manual_seed(seed)
    t = lamina.randn(*shape)
    return t, to_torch(torch, t).reshape(shape)


def same(lamina_value, torch_value):
    """Equal shapes, and values equal to 1e-12 (sums may add in another order)."""
    assert lamina_value.shape == tuple(torch_value.shape)
    got, expected = lamina_value.reshape(-1).tolist(), torch_value.reshape(-1).tolist()
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("values", [3.5, [1, 2, 3], [[1, 2], [3, 4]], [[[1, 2]], [[3, 4]], [[5, 6]]],
                                    [[[[1.0]]]], [[]]])
def test_tensor_takes_nested_lists_of_any_depth_as_pytorch(torch, values):
    t, expected = lamina.tensor(values), torch.tensor(values, dtype=torch.float64)
    assert t.shape == tuple(expected.shape) and t.dim() == expected.dim() and t.numel() == expected.numel()
    assert t.tolist() == expected.tolist()


@pytest.mark.usefixtures("backend")
def test_one_hot_as_pytorchs_from_lists_tensors_and_no_indices_at_all(torch):
    as_tensors = [lamina.tensor([0.0, 2.0, 1.0, 2.0]), lamina.tensor([[0.0], [2.0], [1.0], [2.0]])]
    for indices in [[0, 2, 1, 2], [0.0, 2.0, 1.0, 2.0], *as_tensors]:
        same(lamina.one_hot(indices, 3), torch.nn.functional.one_hot(torch.tensor([0, 2, 1, 2]), 3).double())
    empty = lamina.one_hot([], 4)
    assert empty.shape == tuple(torch.nn.functional.one_hot(torch.tensor([], dtype=torch.long), 4).shape) == (0, 4)
    for bad in ([0, 3], [-1, 0]):
        with pytest.raises(ValueError, match=r"class indices \[(3|-1)\] are outside 0..2"):
            lamina.one_hot(bad, 3)
    for bad, shown in (([1.5], "1.5"), (lamina.tensor([0.0, 2.5]), "2.5"), ([float("nan")], "nan"), (["1"], "'1'")):
        with pytest.raises(ValueError, match=rf"one_hot takes whole-number class indices, got \[{shown}\]"):
            lamina.one_hot(bad, 3)
    for bad in (lamina.tensor([0.0, 3.0]), lamina.tensor([[-1.0], [0.0]])):  # checked by kernels, then named
        with pytest.raises(ValueError, match=r"class indices \[(3|-1)\] are outside 0..2"):
            lamina.one_hot(bad, 3)
    indices = [1999, 0, 1000, 1999]
    expected = torch.nn.functional.one_hot(torch.tensor(indices), 2000).double()
    same(lamina.one_hot(indices, 2000), expected)
    same(lamina.one_hot(lamina.tensor([float(i) for i in indices]), 2000), expected)
    lamina.one_hot([1], 2).data[0][0] = 7.0  # writing into one result...
    assert lamina.one_hot([0], 2).tolist() == [[1.0, 0.0]]  # ...leaves the next one as it should be


@pytest.mark.usefixtures("backend")
def test_factories_take_pytorchs_sizes(torch):
    assert lamina.zeros(2, 3, 4).shape == (2, 3, 4) == lamina.zeros((2, 3, 4)).shape
    assert lamina.ones(5).tolist() == [1.0] * 5 and lamina.full((2, 2), 7.0).tolist() == [[7.0, 7.0]] * 2
    assert lamina.randn(2, 3, 4, 5).shape == (2, 3, 4, 5)
    for args in [(5,), (2, 7), (1, 2, 0.25), (3, 0, -1)]:
        assert lamina.arange(*args).tolist() == torch.arange(*args, dtype=torch.float64).tolist()


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("shape, new", [((2, 3, 4), (6, 4)), ((2, 3, 4), (-1,)), ((2, 3, 4), (4, -1)),
                                        ((24,), (2, 3, 2, 2)), ((6, 4), (2, 12)), ((3, 4), (12, 1)), ((1, 5), (5,))])
def test_reshape_and_view_as_pytorch(torch, shape, new):
    t, expected = pair(torch, *shape)
    same(t.reshape(*new), expected.reshape(*new))
    same(t.view(new), expected.view(new))


@pytest.mark.usefixtures("backend")
def test_flatten_unflatten_and_permute_as_pytorch(torch):
    t, expected = pair(torch, 2, 3, 4, 5)
    for start, end in [(0, -1), (1, -1), (1, 2), (2, 3), (-2, -1)]:
        same(t.flatten(start, end), expected.flatten(start, end))
    same(t.flatten(1).unflatten(1, (3, 4, 5)), expected.flatten(1).unflatten(1, (3, 4, 5)))
    same(t.unflatten(2, (2, -1)), expected.unflatten(2, (2, -1)))
    for dims in [(0, 2, 1, 3), (0, 3, 1, 2), (0, 1, 2, 3), (0, -1, -2, -3)]:
        same(t.permute(*dims), expected.permute(*dims))
    same(t.permute([0, 2, 3, 1]), expected.permute([0, 2, 3, 1]))


@pytest.mark.usefixtures("backend")
def test_indexing_rows_columns_and_masks_as_pytorch(torch):
    t, expected = pair(torch, 5, 3, 2)
    for index in [0, -1, slice(1, 4), slice(None, None, 2), [4, 0, 4], [True, False, True, False, True]]:
        same(t[index], expected[index])
    for index in [1, -1, slice(0, 2), slice(1, 3)]:
        same(t[:, index], expected[:, index])
    m, m_expected = pair(torch, 4, 3)
    same(m[:, 2], m_expected[:, 2])
    same(m[m[:, 0] > 0], m_expected[m_expected[:, 0] > 0])
    same(m[lamina.tensor([3, 1])], m_expected[torch.tensor([3, 1])])
    v, v_expected = pair(torch, 6)
    same(v[2], v_expected[2])
    same(v[1:4], v_expected[1:4])
    same(v[[5, 0]], v_expected[[5, 0]])


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("op", ["__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"])
def test_comparisons_are_element_wise_as_pytorch(torch, op):
    a, a_expected = pair(torch, 3, 4)
    b = a.clone()
    b_expected = a_expected.clone()
    same(getattr(a, op)(b), getattr(a_expected, op)(b_expected).double())
    same(getattr(a, op)(0.0), getattr(a_expected, op)(0.0).double())
    same(getattr(a, op)(a[0]), getattr(a_expected, op)(a_expected[0]).double())


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4), (2, 3, 2, 2)])
def test_reductions_along_a_dim_with_keepdim_as_pytorch(torch, shape):
    t, expected = pair(torch, *shape)
    dims = set(range(-len(shape), len(shape)))
    for dim in dims:
        for keepdim in (False, True):
            same(t.sum(dim, keepdim), expected.sum(dim, keepdim=keepdim))
            same(t.mean(dim, keepdim), expected.mean(dim, keepdim=keepdim))
            same(t.amax(dim, keepdim), expected.amax(dim, keepdim=keepdim))
            values, indices = t.max(dim, keepdim)
            same(values, expected.max(dim, keepdim=keepdim).values)
            same(indices, expected.max(dim, keepdim=keepdim).indices.double())
            same(t.argmax(dim, keepdim), expected.argmax(dim, keepdim=keepdim).double())
    assert t.sum() == pytest.approx(expected.sum().item(), rel=1e-12)
    assert t.argmax().item() == expected.argmax().item()


@pytest.mark.usefixtures("backend")
@pytest.mark.parametrize("left, right", [((4, 3), (3,)), ((3,), (4, 3)), ((4, 3), (4, 1)), ((4, 1), (4, 3)),
                                         ((2, 3, 4, 5), (3, 4, 5)), ((2, 3, 4, 5), (2, 1, 1, 1)),
                                         ((2, 3, 4), (1,)), ((2, 3), ()), ((5,), (5,)), ((4, 1), (3,)),
                                         ((2, 3, 4), (3, 1)), ((2, 3, 4, 5), (2, 1, 4, 1)), ((4, 1, 3), (1, 5, 1)),
                                         ((1,), (5,)), ((2, 1, 3), (2, 4, 1))])
def test_broadcasting_as_pytorch_where_storage_follows(torch, left, right):
    a, a_expected = pair(torch, *left)
    b, b_expected = pair(torch, *right, seed=1)
    for op in ("__add__", "__sub__", "__mul__", "__truediv__"):
        same(getattr(a, op)(b), getattr(a_expected, op)(b_expected))


@pytest.mark.usefixtures("backend")
def test_state_dict_shapes_are_pytorchs(torch):
    model = lamina.nn.Sequential(lamina.nn.Linear(3, 4), lamina.nn.BatchNorm1d(4), lamina.nn.Conv1d(1, 2, 3))
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Conv1d(1, 2, 3))
    assert {k: v.shape for k, v in model.state_dict().items()} == {k: tuple(v.shape) for k, v in twin.state_dict().items()}


@pytest.mark.parametrize("make, error, message", [
    (lambda: lamina.zeros(2, 3).reshape(4, 2), lamina.ShapeError, r"shape \(4, 2\) is invalid for a tensor of 6 values"),
    (lambda: lamina.zeros(2, 3).sum(2), IndexError, r"dim 2 is out of range for a tensor with 2 dimensions"),
    (lambda: lamina.zeros(2, 3) + lamina.zeros(3, 2), lamina.ShapeError, r"cannot add tensors of shapes \(2, 3\) and \(3, 2\)"),
    (lambda: lamina.zeros(2, 3)[1, 2], IndexError, r"lamina indexes rows .* and columns"),
    (lambda: lamina.zeros(2, 3)[5], IndexError, r"row indices \[5\] are not valid for 2 rows"),
    (lambda: lamina.zeros(2, 3, 4).permute(1, 0, 2), lamina.ShapeError, r"the first \(the rows\)"),
    (lambda: lamina.zeros(2, 3, 4) @ lamina.zeros(4, 2), lamina.ShapeError, r"suggest|nn.Flatten\(\)"),
    (lambda: bool(lamina.zeros(2) > 0), ValueError, r"the truth of a tensor of shape \(2,\) is ambiguous"),
])
def test_what_lamina_cannot_do_is_one_line_naming_the_shape(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.usefixtures("backend")
def test_patches_unfold_and_fold_are_adjoint(torch):
    x, _ = pair(torch, 2, 3, 4)  # rows of 12 values
    index = [0, 5, -1, 11, 2, 2, 7, -1, 3]
    patches = x.unfold_patches(index, 3)
    assert patches.shape == (6, 3)
    rows = x.reshape(2, 12).tolist()
    assert patches.tolist()[:3] == [[rows[0][0], rows[0][5], 0.0], [rows[0][11], rows[0][2], rows[0][2]],
                                    [rows[0][7], 0.0, rows[0][3]]]
    g, _ = pair(torch, 6, 3, seed=2)
    folded = g.fold_patches(index, x.shape)
    assert folded.shape == x.shape
    lhs = (patches * g).sum()
    rhs = (x * folded).sum()
    assert lhs == pytest.approx(rhs, rel=1e-12)


class ImageList:
    """A dataset of the kind PyTorch users write: one (image, label) pair per index, no `rows`."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index], int(self.labels[index])


@pytest.mark.usefixtures("backend")
def test_dataloader_batches_shaped_samples_as_pytorchs_default_collate(torch):
    images, labels = lamina.randn(10, 1, 4, 4), lamina.tensor([i % 3 for i in range(10)])
    for dataset in (lamina.data.TensorDataset(images, labels), ImageList(images, labels.tolist())):
        batches = list(lamina.data.DataLoader(dataset, batch_size=4))
        assert [tuple(x.shape) for x, _ in batches] == [(4, 1, 4, 4), (4, 1, 4, 4), (2, 1, 4, 4)]
        assert [tuple(y.shape) for _, y in batches] == [(4,), (4,), (2,)]
        assert batches[1][0].tolist() == images[4:8].tolist() and batches[2][1].tolist() == [2.0, 0.0]
    assert lamina.stack([lamina.zeros(3, 4)] * 2).shape == tuple(torch.stack([torch.zeros(3, 4)] * 2).shape)


@pytest.mark.usefixtures("backend")
def test_softmax_along_the_channels_of_an_image_batch_as_pytorch(torch):
    x, expected = pair(torch, 2, 3, 4, 5)
    same(x.softmax(1), expected.softmax(1))
    same(x.log_softmax(2), expected.log_softmax(2))
    same(x - x.mean(1, keepdim=True), expected - expected.mean(1, keepdim=True))
