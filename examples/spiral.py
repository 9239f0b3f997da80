"""Train a small MLP on the 3-class spiral with CrossEntropyLoss.

    python examples/spiral.py

The model outputs logits (no softmax layer): CrossEntropyLoss applies log-softmax itself, which
is both cheaper and numerically stable. Test points come from the same spirals with fresh noise.
"""

import time

import lamina
from lamina import nn, optim
from lamina.data import DataLoader, TensorDataset


def build_model(hidden=32):
    return nn.Sequential(
        nn.Linear(2, hidden), nn.ReLU(),
        nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, 3),
    )


def train(epochs=60, seed=0, verbose=False):
    """Train from a fixed seed; returns (model, test accuracy, history)."""
    lamina.manual_seed(seed)
    datasets = lamina.registry()
    spiral = datasets.get("datasets", "spiral")
    x_train, y_train = spiral(n=100, noise=0.2, seed=1)
    x_test, y_test = spiral(n=100, noise=0.2, seed=2)

    model = build_model()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    trainer = lamina.Trainer(model, loss_fn, optimizer, max_epochs=epochs, metrics=["accuracy"])
    history = trainer.fit(DataLoader(TensorDataset(x_train, y_train), batch_size=32, shuffle=True))
    accuracy = trainer.evaluate(DataLoader(TensorDataset(x_test, y_test), batch_size=300))["accuracy"]
    if verbose:
        print(f"train loss {history['loss'][-1]:.4f}, train accuracy {history['accuracy'][-1]:.3f}")
    return model, accuracy, history


if __name__ == "__main__":
    start = time.perf_counter()
    _, accuracy, _ = train(verbose=True)
    print(f"test accuracy {accuracy:.3f} in {time.perf_counter() - start:.1f} s")
