"""lamina-tensorboard: the event file a real Trainer run writes, read back record by record."""

import struct

import pytest

import lamina
from lamina import nn, optim
from lamina.data import DataLoader, TensorDataset

event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")


@pytest.mark.lamina_conformance(distribution="lamina-tensorboard")
def test_conformance(lamina_check, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the example writes its event file under the working directory
    lamina_check()


def events(folder):
    """Every Event in the folder's event files (TFRecord: length, its CRC, the record, its CRC)."""
    found = []
    for path in sorted(folder.rglob("events.out.tfevents.*")):
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack("<Q", data[offset:offset + 8])
            record = data[offset + 12:offset + 12 + length]
            offset += 12 + length + 4
            event = event_pb2.Event()
            event.ParseFromString(record)
            found.append(event)
    return found


def test_scalars_per_epoch_and_weight_and_gradient_histograms_read_back(tmp_path):
    lamina.manual_seed(0)
    x = lamina.randn(20, 2)
    y = (x @ lamina.tensor([[1.0], [-2.0]]) > 0.0) * 1.0
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
    trainer = lamina.Trainer(model, nn.BCELoss(), optim.SGD(model.parameters(), lr=0.5), max_epochs=3,
                             callbacks=[lamina.callbacks.TensorBoard(tmp_path / "runs")], metrics=["accuracy"])
    history = trainer.fit(DataLoader(TensorDataset(x, y), batch_size=5), DataLoader(TensorDataset(x, y), batch_size=20))

    scalars, histograms = {}, {}
    for event in events(tmp_path / "runs"):
        for value in event.summary.value:
            if value.HasField("histo"):
                histograms[(value.tag, event.step)] = value.histo
            else:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert [step for step, _ in scalars[key]] == [0, 1, 2]
        # event files keep float32
        assert [value for _, value in scalars[key]] == pytest.approx(history[key], rel=1e-6)
    weight = model.state_dict()["0.weight"].tolist()
    final = histograms[("weights/0.weight", 2)]
    assert final.num == 8 and final.min == pytest.approx(min(map(min, weight)))
    assert final.sum == pytest.approx(sum(map(sum, weight)))
    assert {tag for tag, step in histograms if step == 0} == {
        f"{kind}/{name}" for kind in ("weights", "gradients") for name in ("0.weight", "0.bias", "2.weight", "2.bias")}
    assert histograms[("gradients/2.bias", 1)].num == 1
