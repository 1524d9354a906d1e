"""The shared log-Mel frontend: shapes, where a tone's energy goes, the floor, batching, resampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rnn_speech.data import features


def tone(freq_hz: float, seconds: float = 1.0, sr: int = 16_000, amplitude: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(seconds * sr), dtype=torch.float64) / sr
    return (amplitude * torch.sin(2 * math.pi * freq_hz * t)).float()


def htk_band_centres(n_mels: int = 40, f_max: float = 8000.0) -> np.ndarray:
    """Centre of each band from the HTK formula, written out independently of the module."""
    top = 2595.0 * math.log10(1.0 + f_max / 700.0)
    mels = np.arange(1, n_mels + 1) * top / (n_mels + 1)
    return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)


def test_one_second_at_16k_gives_101_frames_of_40_bands():
    out = features.log_mel(torch.zeros(3, 16_000))
    assert out.shape == (3, 101, 40)
    assert out.dtype == torch.float32


@pytest.mark.parametrize("band", [2, 10, 20, 30, 38])
def test_a_tone_at_a_band_centre_peaks_in_that_band(band):
    centre = htk_band_centres()[band]
    energy = features.log_mel(tone(centre)[None])[0, 5:-5].mean(0)  # interior frames
    assert int(energy.argmax()) == band
    # Neighbouring triangles are zero at this band's centre; only window leakage reaches them.
    assert energy[band] > energy[band - 1] and energy[band] > energy[band + 1]


def test_a_tone_between_centres_lands_in_one_of_the_two_bands():
    centres = htk_band_centres()
    freq = 0.5 * (centres[15] + centres[16])
    energy = features.log_mel(tone(freq)[None])[0, 5:-5].mean(0)
    assert int(energy.argmax()) in (15, 16)


def test_full_scale_tone_energy_matches_the_documented_level():
    # Amplitude 1 -> (sum(hann) / 2)^2 = 100^2 in the peak bin; the band sums a
    # few bins of the window's main lobe, so its log lies near log(1e4) = 9.2.
    centre = htk_band_centres()[20]
    level = features.log_mel(tone(centre, amplitude=1.0)[None])[0, 50, 20].item()
    assert 8.5 < level < 10.0


def test_silence_sits_exactly_on_the_floor():
    out = features.log_mel(torch.zeros(2, 16_000))
    assert torch.all(out == math.log(features.LOG_FLOOR))


def test_16_bit_quantisation_noise_stays_on_the_floor():
    signal = 0.3 * torch.randn(1, 16_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    rounding_error = (torch.round(signal * 32768) / 32768 - signal).float()
    out = features.log_mel(rounding_error)
    assert torch.allclose(out, torch.full_like(out, math.log(features.LOG_FLOOR)))


def test_a_batch_gives_the_same_features_as_clips_one_by_one():
    g = torch.Generator().manual_seed(0)
    batch = 0.1 * torch.randn(4, 16_000, generator=g)
    together = features.log_mel(batch)
    apart = torch.cat([features.log_mel(batch[i:i + 1]) for i in range(4)])
    assert torch.allclose(together, apart, atol=1e-5)


def test_matches_torch_stft_with_centred_zero_padded_frames():
    x = 0.1 * torch.randn(2, 16_000, generator=torch.Generator().manual_seed(1))
    spec = torch.stft(x, 400, 160, 400, torch.hann_window(400), center=True, pad_mode="constant",
                      return_complex=True)
    expected = torch.log(torch.clamp(spec.abs().square().transpose(1, 2) @ features.mel_filterbank(),
                                     min=features.LOG_FLOOR))
    assert torch.allclose(features.log_mel(x), expected, atol=1e-4)


def test_frame_count_follows_the_hop():
    for n in (159, 160, 16_000, 16_159, 16_160):
        assert features.log_mel(torch.zeros(1, n)).shape[1] == features.n_frames(n) == 1 + n // 160


def test_every_mel_filter_is_non_empty_and_peaks_at_most_one():
    fb = features.mel_filterbank()
    assert fb.shape == (201, 40)
    assert torch.all(fb.sum(0) > 0)
    assert fb.max() <= 1.0


def test_resampling_22050_to_16k_keeps_a_tone_and_the_duration():
    sr = 22_050
    t = np.arange(sr) / sr
    out = features.resample(np.sin(2 * np.pi * 1000.0 * t), sr, 16_000)
    assert out.shape == (16_000,)
    expected = np.sin(2 * np.pi * 1000.0 * np.arange(16_000) / 16_000)
    assert np.abs(out.numpy() - expected)[100:-100].max() < 1e-3


def test_resampling_removes_content_above_the_new_nyquist():
    sr = 22_050
    t = np.arange(sr) / sr
    out = features.resample(np.sin(2 * np.pi * 10_000.0 * t), sr, 16_000)  # above 8 kHz: would alias
    # Only the abrupt start and end of the tone have energy below 8 kHz.
    assert np.abs(out.numpy())[200:-200].max() < 1e-3


def test_resampling_a_batch_equals_resampling_each_row():
    x = np.random.default_rng(0).standard_normal((3, 2205)).astype(np.float32)
    together = features.resample(x, 22_050, 16_000)
    apart = torch.stack([features.resample(row, 22_050, 16_000) for row in x])
    assert together.shape == (3, 1600)
    assert torch.allclose(together, apart, atol=1e-5)
