"""The robot's own voice, taken back out of its microphone with the audio it was sent to play.

The brain knows exactly what the robot plays (it synthesised it), so the echo in
the microphone is that reference, delayed (network, buffers, air) and
attenuated, plus room noise and whoever else speaks. `EchoCanceller` places each
played reply on the microphone's sample timeline where it was sent, finds the
delay by cross-correlating the microphone with the reference (0..`max_delay_s`),
and removes the echo frame by frame with a short least-squares filter (5 taps
around the delay, so fractional delays and mild colouring go too). What is left
— the residual — is what VAD, barge-in and speech recognition listen to.
"""

from __future__ import annotations

import numpy as np

TAPS = 5


class EchoCanceller:
    def __init__(self, rate: int = 16_000, *, max_delay_s: float = 1.0, window_s: float = 0.5, min_correlation: float = 0.3):
        self.rate = rate
        self._max_delay = int(max_delay_s * rate)
        self._window = int(window_s * rate)
        self._min_corr = min_correlation
        self._ref = np.zeros(0, np.float32)  # reference on the mic timeline, starting at _ref_start
        self._ref_start = 0
        self._mic = np.zeros(0, np.float32)  # recent microphone audio, ending at _mic_end
        self._mic_end = 0
        self.delay: int | None = None
        self.correlation = 0.0
        self._since_estimate = 0

    def play(self, audio: np.ndarray, at_index: int) -> None:
        """The robot was sent `audio` (float, this rate) to play from about mic sample `at_index` on."""
        end = at_index + len(audio)
        if len(self._ref) == 0 or at_index > self._ref_start + len(self._ref) + self._max_delay:
            self._ref, self._ref_start = audio.astype(np.float32).copy(), at_index
            self.delay = None  # a new playback: its delay is found again
            return
        start = min(self._ref_start, at_index)
        out = np.zeros(max(end, self._ref_start + len(self._ref)) - start, np.float32)
        out[self._ref_start - start: self._ref_start - start + len(self._ref)] += self._ref
        out[at_index - start: at_index - start + len(audio)] += audio
        self._ref, self._ref_start = out, start

    def truncate(self, index: int) -> None:
        """Playback stopped at mic sample `index` (plus the echo's own delay): drop the reference after it."""
        keep = max(0, index + (self.delay or 0) - self._ref_start)
        self._ref = self._ref[:keep]

    def active(self, index: int) -> bool:
        """Whether played audio can still be reaching the microphone at mic sample `index`."""
        return len(self._ref) > 0 and self._ref_start <= index < self._ref_start + len(self._ref) + self._max_delay

    def _reference(self, start: int, n: int) -> np.ndarray:
        out = np.zeros(n, np.float32)
        lo, hi = max(start, self._ref_start), min(start + n, self._ref_start + len(self._ref))
        if hi > lo:
            out[lo - start: hi - start] = self._ref[lo - self._ref_start: hi - self._ref_start]
        return out

    def _estimate_delay(self) -> None:
        n = min(self._window, len(self._mic))
        if n < self.rate // 10:
            return
        mic = self._mic[-n:]
        if float(mic @ mic) < 1e-6 * n:
            return
        ref = self._reference(self._mic_end - n - self._max_delay, n + self._max_delay)
        if float(ref @ ref) < 1e-6 * n:
            return
        size = 1 << int(np.ceil(np.log2(len(ref) + n)))
        corr = np.fft.irfft(np.fft.rfft(ref, size) * np.conj(np.fft.rfft(mic, size)), size)[: self._max_delay + 1]
        # corr[k] = sum mic[t] * ref[t + k]: reference shifted by max_delay - k
        energy = np.convolve(ref * ref, np.ones(n), mode="valid")[: self._max_delay + 1]
        norm = corr / np.sqrt(np.maximum(energy, 1e-12) * float(mic @ mic))
        k = int(np.argmax(norm))
        if norm[k] >= self._min_corr:
            self.delay, self.correlation = self._max_delay - k, float(norm[k])

    def process(self, frame: np.ndarray, index: int) -> tuple[np.ndarray, float]:
        """(residual, echo share of the frame's energy 0..1) for the mic frame starting at `index`."""
        frame = frame.astype(np.float32)
        self._mic = np.concatenate([self._mic, frame])[-(self._window + self._max_delay):]
        self._mic_end = index + len(frame)
        if not self.active(index):
            return frame, 0.0
        self._since_estimate += len(frame)
        if self.delay is None or self._since_estimate >= self.rate // 4:
            self._since_estimate = 0
            self._estimate_delay()
        if self.delay is None:
            return frame, 0.0
        half = TAPS // 2
        start = index - self.delay - half
        ref = self._reference(start, len(frame) + TAPS - 1)
        if float(ref @ ref) < 1e-9:
            return frame, 0.0
        basis = np.stack([ref[i: i + len(frame)] for i in range(TAPS)][::-1], axis=1)
        weights, *_ = np.linalg.lstsq(basis, frame, rcond=None)
        residual = frame - basis @ weights
        energy = float(frame @ frame)
        share = 0.0 if energy < 1e-12 else max(0.0, 1.0 - float(residual @ residual) / energy)
        return residual.astype(np.float32), share
