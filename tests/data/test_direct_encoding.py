"""The direct (analog) encoding: unsigned fixed-point input codes, the same at every step, batched as values."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from qsearch.data import DigitsSpec, DirectEncoder, DirectEncoding, LabeledTensors, encode_split
from qsearch.quant import analog_input_codes
from qsearch.trial import stochastic_encoding


def test_codes_by_hand() -> None:
    x = torch.tensor([0.0, 0.01, 0.5, 0.999, 1.0, 1.7, -0.2])
    # 3 bits: x * 8 = 0, 0.08, 4, 7.99, 8, (clamped 8), (clamped 0) -> round half up, saturate at 7
    assert analog_input_codes(x, 3).tolist() == [0, 0, 4, 7, 7, 7, 0]
    assert analog_input_codes(torch.tensor([1 / 16, 3 / 16]), 3).tolist() == [1, 2]  # ties (0.5, 1.5) go up
    assert analog_input_codes(x, 8).dtype == torch.uint8 and analog_input_codes(x, 12).dtype == torch.int32


@settings(max_examples=50, deadline=None)
@given(bits=st.integers(1, 16), values=st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_codes_are_within_half_a_step_below_the_top(bits: int, values: list[float]) -> None:
    x = torch.tensor(values, dtype=torch.float64)
    codes = analog_input_codes(x, bits).to(torch.int64)
    assert int(codes.min()) >= 0 and int(codes.max()) <= 2 ** bits - 1
    step = 2.0 ** -bits
    below_top = x < 1 - step / 2
    assert bool(((codes.double() * step - x).abs()[below_top] <= step / 2).all())


def test_direct_encoding_repeats_the_codes_at_every_step_and_batches_their_values() -> None:
    x = torch.tensor([[0.25, 0.0, 1.0], [0.5, 0.75, 0.125]])
    split = encode_split(LabeledTensors(x, torch.tensor([0, 1])), DirectEncoder(4), 5, 0, False)
    assert split.analog and split.frac_bits == 4 and split.timesteps == 5
    assert split.spikes.dtype == torch.uint8 and split.spikes.shape == (2, 5, 3)
    assert torch.equal(split.spikes[:, 3], torch.tensor([[4, 0, 15], [8, 12, 2]], dtype=torch.uint8))
    assert torch.equal(split.spikes, split.spikes[:, :1].expand(2, 5, 3))  # constant over time
    (values, labels), = list(split.batches(8))
    assert values.shape == (5, 2, 3) and labels.tolist() == [0, 1]
    assert torch.equal(values[0], torch.tensor([[0.25, 0.0, 0.9375], [0.5, 0.75, 0.125]]))  # 1.0 saturates at 15/16
    assert split.to("cpu").frac_bits == 4


def test_direct_encoding_is_deterministic_and_spike_encodings_are_not_analog() -> None:
    assert not stochastic_encoding(DigitsSpec(encoding=DirectEncoding()))
    assert stochastic_encoding(DigitsSpec())  # rate: one random draw per encoding
    spikes = encode_split(LabeledTensors(torch.rand(3, 4), torch.zeros(3, dtype=torch.long)),
                          DigitsSpec().encoding.encoder(), 4, 0, False)
    assert not spikes.analog and spikes.frac_bits == 0


@pytest.mark.parametrize("bits", [0, 17])
def test_codes_of_an_unsupported_width_are_a_bug(bits: int) -> None:
    with pytest.raises(ValueError, match=f"bits {bits} outside 1..16"):
        analog_input_codes(torch.zeros(2), bits)
