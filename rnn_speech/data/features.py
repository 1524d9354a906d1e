"""The one log-Mel frontend every audio source goes through.

16 kHz audio, 25 ms Hann windows every 10 ms, 40 mel bands, natural log with a
floor. One second of audio (16,000 samples) gives exactly 101 frames because
frames are centred: frame ``t`` covers samples ``160 t - 200 .. 160 t + 199``,
so frames exist for t = 0 .. 100.

Choices, and why:

* Mel scale: the HTK formula ``mel(f) = 2595 log10(1 + f / 700)`` (S. Young et
  al., *The HTK Book*, section "Filterbank Analysis"), with HTK's triangles that
  peak at 1 (no area normalisation, unlike Slaney's Auditory Toolbox). The
  scale is the common default of speech toolkits; unnormalised triangles keep a
  tone's log energy independent of which band it falls in.
* Centring pads 200 zeros on each side rather than reflecting: outside the clip
  there is silence, and a reflection would invent a mirrored copy of a word
  that starts at the very edge of the window.
* Power spectrum without 1/N scaling: a full-scale sine of amplitude 1 puts
  about (sum(window) / 2)^2 = 100^2 = 1e4 into its band, i.e. log ~ 9.2.
* ``LOG_FLOOR = 1e-6`` (log = -13.8): about 100 dB below that full-scale sine
  and just above the band energy of 16-bit quantisation noise (at most ~2e-7),
  so digital silence and dither both land on the floor instead of on -inf or
  on a noisy tail that only says how the file was quantised.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

SAMPLE_RATE = 16_000
N_MELS = 40
WIN_LENGTH = 400  # 25 ms
HOP_LENGTH = 160  # 10 ms
N_FFT = 400
LOG_FLOOR = 1e-6
F_MIN = 0.0
F_MAX = SAMPLE_RATE / 2


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_band_edges(n_mels: int = N_MELS, f_min: float = F_MIN, f_max: float = F_MAX) -> np.ndarray:
    """``n_mels + 2`` frequencies in Hz, equally spaced in mel: band k rises from
    edge k, peaks at edge k+1 and falls to zero at edge k+2."""
    return mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))


@lru_cache(maxsize=8)
def mel_filterbank(n_mels: int = N_MELS, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE,
                   f_min: float = F_MIN, f_max: float = F_MAX) -> torch.Tensor:
    """Triangular filters as a (n_fft // 2 + 1, n_mels) matrix: power spectrum @ matrix = band energies."""
    bin_hz = np.arange(n_fft // 2 + 1) * sample_rate / n_fft
    edges = mel_band_edges(n_mels, f_min, f_max)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_hz[:, None] - lower) / (centre - lower)
    falling = (upper - bin_hz[:, None]) / (upper - centre)
    weights = np.clip(np.minimum(rising, falling), 0.0, None)
    return torch.from_numpy(weights.astype(np.float32))


@lru_cache(maxsize=1)
def _hann_window() -> torch.Tensor:
    return torch.hann_window(WIN_LENGTH, periodic=True, dtype=torch.float32)


def n_frames(n_samples: int) -> int:
    """Frames produced for a clip of ``n_samples`` (101 for one second)."""
    return 1 + n_samples // HOP_LENGTH


def log_mel(waveforms: torch.Tensor) -> torch.Tensor:
    """(N, S) float waveforms at 16 kHz, in [-1, 1] -> (N, T, 40) log-Mel features, T = 1 + S // 160."""
    if waveforms.ndim != 2:
        raise ValueError(f"log_mel expects (N, samples), got shape {tuple(waveforms.shape)}")
    # Framing by hand (pad, unfold, rfft) computes what torch.stft(center=True,
    # pad_mode="constant") does, about three times faster for 400-point frames,
    # and gives (N, T, bins) without a transpose.
    x = torch.nn.functional.pad(waveforms.to(torch.float32), (WIN_LENGTH // 2, WIN_LENGTH // 2))
    frames = x.unfold(-1, WIN_LENGTH, HOP_LENGTH) * _hann_window()  # (N, T, 400)
    spec = torch.fft.rfft(frames, n=N_FFT)  # (N, T, 201)
    power = spec.real.square() + spec.imag.square()
    mel = power @ mel_filterbank()
    return torch.log(torch.clamp(mel, min=LOG_FLOOR))


def resample(wave: np.ndarray | torch.Tensor, orig_sr: int, new_sr: int) -> torch.Tensor:
    """Band-limited resampling along the last axis, e.g. eSpeak's 22,050 Hz to 16 kHz.

    Works in the frequency domain: the signal is zero-padded to a whole number of
    ``orig_sr / gcd`` samples (so old and new lengths describe exactly the same
    duration), its spectrum is cut (or zero-extended) to the new Nyquist
    frequency and transformed back. A raised-cosine roll-off over the top 5 % of
    the kept band stands in for a transition band, so a brick-wall cut does not
    ring around plosives. The padding also keeps the transform's implicit
    periodicity from wrapping the end of a clip onto its start. Integer input
    (int16 PCM) is returned on the same scale, as float32.
    """
    x = torch.as_tensor(np.asarray(wave) if not isinstance(wave, torch.Tensor) else wave).to(torch.float32)
    if orig_sr == new_sr:
        return x.clone()
    g = math.gcd(int(orig_sr), int(new_sr))
    up, down = int(new_sr) // g, int(orig_sr) // g
    n = x.shape[-1]
    n_out = (n * up + down // 2) // down
    n_pad = (n // down + 2) * down  # at least one block of zeros as a guard
    m = n_pad * up // down
    spectrum = torch.fft.rfft(x, n=n_pad)
    kept = min(spectrum.shape[-1], m // 2 + 1)
    out_spec = torch.zeros(*spectrum.shape[:-1], m // 2 + 1, dtype=spectrum.dtype)
    out_spec[..., :kept] = spectrum[..., :kept] * _rolloff(kept, down > up)
    y = torch.fft.irfft(out_spec, n=m) * (m / n_pad)
    return y[..., :n_out].contiguous()


def _rolloff(n_bins: int, downsampling: bool) -> torch.Tensor:
    """Gain per kept bin: 1, then a half cosine to 0 over the last 5 % (downsampling only)."""
    gain = torch.ones(n_bins)
    if downsampling:
        width = max(1, n_bins // 20)
        ramp = torch.arange(width, dtype=torch.float32) / width
        gain[-width:] = 0.5 * (1.0 + torch.cos(math.pi * ramp))
    return gain
