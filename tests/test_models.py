"""Parameter counts (by hand and counted) and multiply-accumulates of every model."""

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from rnn_speech.models import CNNClassifier, MLPClassifier, RNNClassifier
from rnn_speech.models.derivation import counted, derivation_markdown, total


def test_assignment_gru_has_70531_parameters():
    model = RNNClassifier((101, 40), 3)
    assert counted(model) == 70_531
    assert total(model.param_derivation()) == 70_531


def test_course_mlp_and_cnn_parameter_counts():
    assert counted(MLPClassifier((101, 40), 3)) == 567_171
    assert counted(CNNClassifier((101, 40), 3)) == 346_067
    assert total(MLPClassifier((101, 40), 3).param_derivation()) == 567_171
    assert total(CNNClassifier((101, 40), 3).param_derivation()) == 346_067


def closed_form_rnn(f: int, h: int, layers: int, c: int, gates: int, fc=(128, 128)) -> int:
    """Independent closed form: gates·(in·H + H² + 2H) per layer, then the dense stack."""
    rnn = gates * (f * h + h * h + 2 * h) + (layers - 1) * gates * (2 * h * h + 2 * h)
    sizes = [h, *fc, c]
    return rnn + sum(a * b + b for a, b in zip(sizes, sizes[1:]))


@pytest.mark.parametrize("rnn_type,gates", [("GRU", 3), ("LSTM", 4)])
@pytest.mark.parametrize("f,h,layers,c", [(40, 64, 2, 3), (13, 32, 1, 12), (80, 128, 3, 35)])
def test_rnn_parameter_formula_for_other_sizes(rnn_type, gates, f, h, layers, c):
    model = RNNClassifier((101, f), c, rnn_type, hidden_size=h, num_layers=layers)
    expected = closed_form_rnn(f, h, layers, c, gates)
    assert counted(model) == expected
    assert total(model.param_derivation()) == expected


def test_derivation_table_shows_each_layer_and_the_check():
    model = RNNClassifier((101, 40), 3)
    text = derivation_markdown(model.param_derivation(), counted(model))
    assert "| GRU layer 1 | 3·(in·H + H·H + 2·H) | 3·(40·64 + 64·64 + 2·64) | 20,352 |" in text
    assert "| GRU layer 2 | 3·(in·H + H·H + 2·H) | 3·(64·64 + 64·64 + 2·64) | 24,960 |" in text
    assert "| Output (128→3) | in·out + out | 128·3 + 3 | 387 |" in text
    assert "**70,531**" in text and "which matches" in text


@pytest.mark.parametrize("model,expected", [
    (RNNClassifier((101, 40), 3), 4_523_904),
    (MLPClassifier((101, 40), 3), 566_656),
    (CNNClassifier((101, 40), 3), 11_010_560),
])
def test_macs_match_torch_flop_counter(model, expected):
    assert model.macs_per_example() == expected
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(2, 101, 40))
    assert counter.get_total_flops() == 2 * 2 * expected  # 2 FLOPs per MAC, batch of 2


def test_rnn_uses_last_frame_of_top_layer():
    torch.manual_seed(0)
    model = RNNClassifier((5, 4), 2, hidden_size=8).eval()
    x = torch.randn(3, 5, 4)
    out, _ = model.rnn(x)
    assert torch.allclose(model(x), model.head(out[:, -1]))
    # Changing only the first frame still changes the output: the state carries it forward.
    x2 = x.clone()
    x2[:, 0] += 1.0
    assert not torch.allclose(model(x), model(x2))


def test_unknown_rnn_type_is_a_clear_error():
    with pytest.raises(ValueError, match="rnn_type='Transformer' is not supported"):
        RNNClassifier((101, 40), 3, "Transformer")


def test_cnn_too_small_input_is_a_clear_error():
    with pytest.raises(ValueError, match="too small"):
        CNNClassifier((10, 10), 3)


def unrolled_lstm_logits(model: RNNClassifier, x: torch.Tensor) -> torch.Tensor:
    """The LSTM written out frame by frame with F.linear, so FlopCounterMode sees every product.

    (On CPU nn.LSTM runs as one fused kernel the flop counter cannot look into.)
    """
    seq = x
    for layer in range(model.num_layers):
        w_ih, w_hh = getattr(model.rnn, f"weight_ih_l{layer}"), getattr(model.rnn, f"weight_hh_l{layer}")
        b_ih, b_hh = getattr(model.rnn, f"bias_ih_l{layer}"), getattr(model.rnn, f"bias_hh_l{layer}")
        h = c = torch.zeros(x.shape[0], model.hidden_size)
        outs = []
        for t in range(seq.shape[1]):
            i, f, g, o = (F.linear(seq[:, t], w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        seq = torch.stack(outs, 1)
    return model.head(seq[:, -1])


def test_lstm_macs_match_flop_counter_on_an_unrolled_lstm():
    torch.manual_seed(0)
    model = RNNClassifier((101, 40), 3, "LSTM").eval()
    x = torch.randn(2, 101, 40)
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            reference = unrolled_lstm_logits(model, x)
        assert torch.allclose(reference, model(x), atol=1e-5)  # the unrolled LSTM is the model
    assert model.macs_per_example() == 6_023_552
    assert counter.get_total_flops() == 2 * 2 * 6_023_552
