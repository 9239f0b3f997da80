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
