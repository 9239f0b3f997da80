"""Train a small MLP on the 3-class spiral with CrossEntropyLoss (the run `spiral.toml` describes).

    python examples/spiral.py

The model outputs logits, with no softmax layer: CrossEntropyLoss applies log-softmax itself,
which is cheaper and numerically stable. The spiral's rows come shuffled, so the last 90 of its
450 points make a held-out test set with every class in it.
"""

import time

import lamina
from lamina import nn, optim
from lamina.data import DataLoader, TensorDataset

TEST_SIZE = 90


def build_model(hidden=32):
    return nn.Sequential(
        nn.Linear(2, hidden), nn.ReLU(),
        nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, 3),
    )


def train(epochs=60, seed=0, verbose=False):
    """Train from a fixed seed; returns (model, test accuracy, history)."""
    lamina.manual_seed(seed)  # the initial weights and the batch order
    spiral = lamina.registry().get("datasets", "spiral")
    inputs, targets = spiral(n=150, classes=3, noise=0.2, seed=1)  # its own seed fixes the points
    train_rows = len(inputs) - TEST_SIZE
    train_data = TensorDataset(inputs[:train_rows], targets[:train_rows])
    test_data = TensorDataset(inputs[train_rows:], targets[train_rows:])

    model = build_model()
    loss_fn = nn.CrossEntropyLoss()  # targets are an (N, 1) column of class indices
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    trainer = lamina.Trainer(model, loss_fn, optimizer, max_epochs=epochs, metrics=["accuracy"])
    history = trainer.fit(DataLoader(train_data, batch_size=32, shuffle=True))
    accuracy = trainer.evaluate(DataLoader(test_data, batch_size=32))["accuracy"]
    if verbose:
        print(f"train loss {history['loss'][-1]:.4f}, train accuracy {history['accuracy'][-1]:.3f}")
    return model, accuracy, history


if __name__ == "__main__":
    start = time.perf_counter()
    _, accuracy, _ = train(verbose=True)
    print(f"test accuracy {accuracy:.3f} in {time.perf_counter() - start:.1f} s")
