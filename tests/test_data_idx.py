"""mnist and fashion_mnist read IDX files (gzipped or not): training rows then the official test
rows, in PyTorch's image shape; a truncated, corrupted or foreign file is one line naming the file
and what was expected; missing files say how to download them."""

import gzip

import pytest

numpy = pytest.importorskip("numpy")

import lamina  # noqa: E402
from idx_helpers import FILES, idx_bytes, small_dataset, write_dataset  # noqa: E402
from lamina.cli.app import main  # noqa: E402
from lamina.cli.run_config import build_loaders  # noqa: E402
from lamina.errors import FileFormatError, LaminaError, ShapeError  # noqa: E402
from lamina.plugins.image_datasets import read_idx  # noqa: E402


def dataset(name, **arguments):
    return lamina.registry().create("datasets", name, **arguments)


@pytest.mark.parametrize("gzipped", [(True,) * 4, (False,) * 4, (True, False, False, True)],
                         ids=["gzipped", "plain", "mixed"])
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_the_training_rows_come_first_then_the_test_rows(tmp_path, name, gzipped):
    arrays = small_dataset(train=6, test=4)
    write_dataset(tmp_path, arrays, gzipped)
    inputs, targets = dataset(name, root=str(tmp_path))
    assert inputs.shape == (10, 1, 28, 28) and targets.shape == (10,)
    images = numpy.concatenate([arrays[FILES[0]], arrays[FILES[2]]])
    assert numpy.array_equal(numpy.asarray(inputs.tolist()), images.reshape(10, 1, 28, 28) / 255.0)
    assert targets.tolist() == [float(v) for v in [*arrays[FILES[1]], *arrays[FILES[3]]]]


def test_test_size_holds_out_the_official_test_set(tmp_path):
    arrays = small_dataset(train=7, test=3)
    write_dataset(tmp_path, arrays)
    _, _, test = build_loaders({"dataset": {"name": "mnist", "root": str(tmp_path)}, "test_size": 3}, "mnist")
    inputs, targets = test.dataset.tensors
    assert numpy.array_equal(numpy.asarray(inputs.tolist()), arrays[FILES[2]].reshape(3, 1, 28, 28) / 255.0)
    assert targets.tolist() == [float(v) for v in arrays[FILES[3]]]


def test_the_default_folder_is_under_lamina_data(tmp_path, monkeypatch):
    write_dataset(tmp_path / "fashion_mnist", small_dataset(train=2, test=1, size=4))
    monkeypatch.setenv("LAMINA_DATA", str(tmp_path))
    inputs, _ = dataset("fashion_mnist")
    assert inputs.shape == (3, 1, 4, 4)


def test_missing_files_say_how_to_download_them(tmp_path, monkeypatch):
    monkeypatch.setenv("LAMINA_DATA", str(tmp_path))
    with pytest.raises(LaminaError) as raised:
        dataset("mnist")
    assert str(raised.value) == (f"mnist: no train-images-idx3-ubyte (or train-images-idx3-ubyte.gz) in "
                                 f"{tmp_path / 'mnist'}; download the files with `lamina data download mnist`")
    paths = write_dataset(tmp_path / "mine", small_dataset())
    paths[3].unlink()
    with pytest.raises(LaminaError, match=r"no t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte.gz\) in .*mine; "
                                          r"download the files with `lamina data download mnist --dir .*mine`$"):
        dataset("mnist", root=str(tmp_path / "mine"))


def test_read_idx_gives_the_declared_type_and_shape(tmp_path):
    for array in (numpy.arange(24, dtype=">f8").reshape(2, 3, 4) / 7, numpy.array([-300, 2, 1000], dtype="i2"),
                  numpy.array([[-1, 5]], dtype="i1"), numpy.array([70000, -3], dtype="i4")):
        path = tmp_path / "values.idx"
        path.write_bytes(idx_bytes(array))
        read = read_idx(path)
        assert read.shape == array.shape and read.dtype == array.dtype.newbyteorder("=")
        assert numpy.array_equal(read, array)


def header(type_byte, *sizes):
    return bytes([0, 0, type_byte, len(sizes)]) + b"".join(size.to_bytes(4, "big") for size in sizes)


CORRUPT = {
    "truncated values": (header(8, 6, 28, 28) + bytes(6 * 28 * 28 - 1),
                         "truncated: 4719 bytes, expected 4720 for 6 x 28 x 28 unsigned bytes"),
    "trailing bytes": (header(8, 6, 28, 28) + bytes(6 * 28 * 28 + 3),
                       "longer than its header says: 4723 bytes, expected 4720 for 6 x 28 x 28 unsigned bytes"),
    "truncated header": (header(8, 6, 28, 28)[:9], "truncated: 9 bytes, but its header alone needs 16"),
    "too short": (b"\0\0", "2 bytes, too short for an IDX header (expected at least 4)"),
    "foreign": (b"\x89PNG\r\n\x1a\n" + bytes(100), "not an IDX file: it starts with 89504e47, expected 0000 then a "
                                                   "type byte (08, 09, 0b, 0c, 0d, 0e) and the number of dimensions"),
    "unknown type": (header(0x42, 6, 28, 28), "not an IDX file: it starts with 00004203"),
    "no dimensions": (bytes([0, 0, 8, 0]), "the IDX header declares 0 dimensions, expected at least 1"),
    "huge sizes": (header(8, 2**32 - 1, 2**32 - 1, 28) + bytes(50),
                   "truncated: 66 bytes, expected 516508833823349276716 for 4294967295 x 4294967295 x 28"),
}


@pytest.mark.parametrize("zipped", [False, True], ids=["plain", "gzipped"])
@pytest.mark.parametrize("case", CORRUPT)
def test_a_broken_file_is_one_line_naming_it_and_what_was_expected(tmp_path, case, zipped):
    data, expected = CORRUPT[case]
    paths = write_dataset(tmp_path, small_dataset(), (zipped,) * 4)
    paths[0].write_bytes(gzip.compress(data) if zipped else data)
    with pytest.raises(FileFormatError) as raised:
        dataset("mnist", root=str(tmp_path))
    assert str(raised.value).startswith(f"{paths[0]}: {expected}")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("damage", ["not gzip", "truncated gzip", "corrupted gzip"])
def test_a_broken_gzip_file_is_one_line_naming_it(tmp_path, damage):
    paths = write_dataset(tmp_path, small_dataset())
    packed = paths[2].read_bytes()
    paths[2].write_bytes({"not gzip": idx_bytes(small_dataset()[FILES[2]]),
                          "truncated gzip": packed[: len(packed) // 2],
                          "corrupted gzip": packed[:20] + bytes(len(packed) - 20)}[damage])
    with pytest.raises(FileFormatError, match=f"^{paths[2]}: not a readable gzip file \\(.+\\)$"):
        dataset("mnist", root=str(tmp_path))


def test_files_that_do_not_fit_together_are_named(tmp_path):
    arrays = small_dataset(train=6, test=4)
    write_dataset(tmp_path, {**arrays, FILES[1]: arrays[FILES[1]][:5]})
    with pytest.raises(ShapeError, match=r"train-labels-idx1-ubyte.gz: 5 labels for the 6 images of .*"
                                         r"train-images-idx3-ubyte.gz$"):
        dataset("mnist", root=str(tmp_path))
    write_dataset(tmp_path, {**arrays, FILES[1]: arrays[FILES[1]].astype("i4")})
    with pytest.raises(ShapeError, match=r"train-labels-idx1-ubyte.gz: holds int32 values of shape \(6,\); "
                                         r"expected one unsigned byte per image$"):
        dataset("mnist", root=str(tmp_path))
    write_dataset(tmp_path, {**arrays, FILES[2]: arrays[FILES[2]][:, :20, :20]})
    with pytest.raises(ShapeError, match=r"t10k-images-idx3-ubyte.gz: images of \(20, 20\) pixels, but .* has "
                                         r"\(28, 28\); expected the same size in both$"):
        dataset("mnist", root=str(tmp_path))


def test_the_command_line_reports_a_broken_file_in_one_line(tmp_path, capsys):
    paths = write_dataset(tmp_path / "data", small_dataset(train=6, test=4, size=4))
    paths[1].write_bytes(gzip.compress(header(8, 6) + bytes(5)))
    config = tmp_path / "run.toml"
    config.write_text(f"""
[data]
dataset = {{ name = "mnist", root = "{tmp_path / 'data'}" }}
test_size = 4
[model]
layers = [{{ name = "Flatten" }}, {{ name = "Linear", in_features = 16, out_features = 10 }}]
[loss]
name = "CrossEntropyLoss"
[optimizer]
name = "Adam"
""")
    assert main(["train", str(config), "--epochs", "1"]) == 1
    out, err = capsys.readouterr()
    assert err == (f"lamina train: error: {config} [data] dataset: {paths[1]}: truncated: 13 bytes, expected 14 "
                   "for 6 unsigned bytes\n")
