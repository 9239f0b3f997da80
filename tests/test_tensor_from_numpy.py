"""Data in without a copy: lamina.tensor of a numpy array keeps the array under the numpy backend
(as torch.from_numpy does) and converts it in one C-level pass under pure Python; numpy checks its
numbers, lamina does not walk it element by element."""

import pytest

import lamina
from lamina.data import DataLoader, TensorDataset

np = pytest.importorskip("numpy")


def test_under_numpy_a_float64_array_comes_in_without_a_copy(numpy_backend):
    array = np.arange(12.0).reshape(4, 3)
    t = lamina.tensor(array)
    assert t.data is array and t.shape == (4, 3)
    ints = np.arange(6).reshape(3, 2)  # another dtype, or another memory order: one conversion
    assert lamina.tensor(ints).tolist() == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    fortran = np.asfortranarray(array)
    assert lamina.tensor(fortran).tolist() == array.tolist() and lamina.tensor(fortran).data.flags.c_contiguous


def test_under_pure_python_an_array_becomes_rows_of_floats():
    t = lamina.tensor(np.array([[1, 2], [3, 4]], dtype=np.int32))
    assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]] and all(type(v) is float for row in t.tolist() for v in row)
    assert lamina.tensor(np.array([[True, False]])).tolist() == [[1.0, 0.0]]
    assert lamina.tensor(np.array([[np.nan, np.inf]])).tolist()[0][1] == float("inf")


@pytest.mark.parametrize("backend_name", ["python", "numpy"])
def test_an_array_of_non_numbers_is_one_line_naming_the_cell(backend_name):
    lamina.set_backend(backend_name)
    try:
        with pytest.raises(TypeError, match=r"the value at \[0\]\[1\] is 'b' \(str\), expected a number"):
            lamina.tensor(np.array([[1.0, "b"]], dtype=object))
    finally:
        lamina.set_backend("python")


def test_tensor_dataset_and_dataloader_take_arrays(backend):
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10.0).reshape(10, 1)
    batches = list(DataLoader(TensorDataset(x, y), batch_size=4))
    assert [len(xb) for xb, _ in batches] == [4, 4, 2]
    assert batches[1][0].tolist() == x[4:8].tolist() and batches[2][1].tolist() == y[8:].tolist()
