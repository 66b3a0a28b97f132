"""Dataset sections of a study file (validated with pydantic) and how each one is loaded.

Each dataset is one small spec model discriminated by ``name``; ``load_splits`` turns a spec into
:class:`~qsearch.data.Splits`. Static datasets are encoded into spikes per trial by the spec's encoder.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from qsearch.data._encoding import DirectEncoder, LatencyEncoder, RateEncoder, RegularEncoder
from qsearch.data._splits import Splits
from qsearch.quant import DEFAULT_INPUT_BITS, INPUT_BITS_RANGE


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateEncoding(_Strict):
    kind: Literal["rate"] = "rate"
    max_rate: float = Field(1.0, gt=0, le=1,
                            description="spike probability per step of a full-intensity pixel")

    def encoder(self) -> RateEncoder:
        return RateEncoder(self.max_rate)


class RegularEncoding(_Strict):
    kind: Literal["regular"] = "regular"
    max_rate: float = Field(1.0, gt=0, le=1, description="spikes per step of a full-intensity input")

    def encoder(self) -> RegularEncoder:
        return RegularEncoder(self.max_rate)


class LatencyEncoding(_Strict):
    kind: Literal["latency"] = "latency"
    threshold: float = Field(0.01, ge=0, le=1, description="pixels dimmer than this never spike")

    def encoder(self) -> LatencyEncoder:
        return LatencyEncoder(self.threshold)


class DirectEncoding(_Strict):
    """Direct (analog) input, static data only: the intensities themselves, as unsigned input_bits-bit codes, are
    the first layer's input at every one of the T steps (synaptic input W x; deterministic, one evaluation draw).
    Costs: each step every nonzero input costs fan-out multiply-accumulates (MACs, input code x weight), not
    accumulates; a trial's sops counts them with the later layers' accumulates, macs their share, and energy
    prices a MAC as a max(weight, input bits) multiply plus an add (float32: 3.7 + 0.9 = 4.6 pJ, Horowitz 2014).
    """

    kind: Literal["direct"] = "direct"
    input_bits: int = Field(DEFAULT_INPUT_BITS, ge=INPUT_BITS_RANGE[0], le=INPUT_BITS_RANGE[1], description=(
        "width of the unsigned fixed-point input code: x_q = min(round(x * 2^b), 2^b - 1) / 2^b, read by every "
        "trial (the float baseline too) and by the integer export"))

    def encoder(self) -> DirectEncoder:
        return DirectEncoder(self.input_bits)


Encoding = Annotated[RateEncoding | RegularEncoding | LatencyEncoding | DirectEncoding, Field(discriminator="kind")]
#: the encoding kinds, for the refusal of an encoding on event data
ENCODING_KINDS = ("rate", "regular", "latency", "direct")


class DigitsSpec(_Strict):
    """scikit-learn's bundled 8x8 digits; nothing to download."""

    name: Literal["digits"] = "digits"
    seed: int = 0
    validation_fraction: float = Field(0.2, gt=0, lt=1)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    encoding: Encoding = RateEncoding()

    def load(self, timesteps: int) -> Splits:
        from qsearch.data._digits import load_digits_splits

        return load_digits_splits(seed=self.seed, validation_fraction=self.validation_fraction,
                                  test_fraction=self.test_fraction)


class MnistSpec(_Strict):
    """MNIST from the four IDX files (plain or .gz) in ``path``: train -> train + validation, t10k -> test."""

    name: Literal["mnist"] = "mnist"
    path: str = Field(min_length=1, description="folder with train-/t10k- images/labels IDX files")
    seed: int = 0
    validation_fraction: float = Field(0.1, gt=0, lt=1)
    flatten: bool = Field(True, description="(N, 784) if true, else (N, 1, 28, 28)")
    limit_train: int | None = Field(None, ge=2, description="stratified subsample of the train file (+ val)")
    limit_test: int | None = Field(None, ge=1, description="stratified subsample of the t10k file")
    encoding: Encoding = RateEncoding()

    def load(self, timesteps: int) -> Splits:
        from qsearch.data._mnist import load_mnist_splits

        return load_mnist_splits(self.path, seed=self.seed, validation_fraction=self.validation_fraction,
                                 flatten=self.flatten, limit_train=self.limit_train,
                                 limit_test=self.limit_test)


class NpzSpec(_Strict):
    """Your own arrays: an .npz with x, y (or given splits x_train, y_train, x_test, y_test[, x_val, y_val]).

    Intensities are scaled into [0, 1] by ``scaling``, fitted on the training split only.
    """

    name: Literal["npz"] = "npz"
    path: str = Field(min_length=1, description="the .npz file")
    seed: int = 0
    validation_fraction: float = Field(0.2, gt=0, lt=1, description="carved from train unless x_val is given")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="used only when the file has no given splits")
    scaling: Literal["auto", "feature", "global", "none"] = Field(
        "auto", description="into [0, 1], fitted on train: feature (min-max per feature), global (one divisor), "
                            "none (already in [0, 1]); auto: feature for tabular data in unrelated units, else global")
    encoding: Encoding = RateEncoding()

    def load(self, timesteps: int) -> Splits:
        from qsearch.data._arrays import load_npz_splits

        return load_npz_splits(self.path, seed=self.seed, validation_fraction=self.validation_fraction,
                               test_fraction=self.test_fraction, scaling=self.scaling)


class PythonSpec(_Strict):
    """Data given in Python (``qsearch.run(data=...)``: datasets, data loaders or arrays), named by a
    fingerprint of its content; the npz rules apply (given or seeded stratified splits, scaling fitted on train).
    """

    name: Literal["python"] = "python"
    fingerprint: str = Field(pattern=r"^[0-9a-f]{64}$", description=(
        "SHA-256 of the materialized arrays, written by qsearch.run; other data is another study"))
    seed: int = 0
    validation_fraction: float = Field(0.2, gt=0, lt=1, description="carved from train unless validation is given")
    test_fraction: float = Field(0.2, gt=0, lt=1, description="used only when one data set holds every sample")
    scaling: Literal["auto", "feature", "global", "none"] = Field(
        "auto", description="static inputs into [0, 1], fitted on train, as for npz; frames pass unscaled")
    encoding: Encoding = RateEncoding()

    def load(self, timesteps: int) -> Splits:
        from qsearch.data._held import load_held_splits

        return load_held_splits(self.fingerprint, seed=self.seed, validation_fraction=self.validation_fraction,
                                test_fraction=self.test_fraction, scaling=self.scaling)


class _EventSpec(_Strict):
    """An event dataset read through tonic; a trial's timesteps set the number of frames (tonic ToFrame)."""

    name: str
    path: str = Field(min_length=1, description="tonic's save_to (holding e.g. NMNIST/) or that folder")
    download: bool = Field(False, description="let tonic download the dataset if path lacks it")
    seed: int = 0
    validation_fraction: float = Field(0.1, gt=0, lt=1, description="carved from the dataset's train split")
    denoise_filter_time: float | None = Field(
        None, gt=0, description="tonic Denoise filter time (us); Python loop per event, slow on DVS Gesture")
    downsample: float | None = Field(None, gt=0, le=1, description="spatial factor (tonic Downsample)")
    limit_train: int | None = Field(None, ge=2, description="stratified subsample of the train split")
    limit_test: int | None = Field(None, ge=1, description="stratified subsample of the test split")
    cache_dir: str | None = Field(None, description="folder for binned frames; none: bin on every load")

    @model_validator(mode="before")
    @classmethod
    def _no_encoding(cls, data: object) -> object:
        """Event frames are spikes already: no encoding (and no analog input) applies to them."""
        if isinstance(data, dict) and "encoding" in data:
            raise ValueError(f"encoding: event data ({data.get('name')}) are spikes already and take no "
                             f"encoding; encoding ({', '.join(ENCODING_KINDS)}) is allowed for digits, mnist "
                             "and npz only")
        return data

    def load(self, timesteps: int) -> Splits:
        from qsearch.data._events import load_event_splits

        return load_event_splits(self.name, self.path, timesteps=timesteps, download=self.download,
                                 seed=self.seed, validation_fraction=self.validation_fraction,
                                 denoise_filter_time=self.denoise_filter_time, downsample=self.downsample,
                                 limit_train=self.limit_train, limit_test=self.limit_test,
                                 cache_dir=self.cache_dir)


class NmnistSpec(_EventSpec):
    """N-MNIST (34x34, 2 polarities, 10 classes): frames (T, 2, 34, 34)."""

    name: Literal["nmnist"] = "nmnist"


class DvsGestureSpec(_EventSpec):
    """IBM DVS Gesture in tonic's preprocessed layout (128x128, 2 polarities, 11 classes)."""

    name: Literal["dvsgesture"] = "dvsgesture"


class ShdSpec(_EventSpec):
    """Spiking Heidelberg Digits (700 channels, 20 classes): frames (T, 700), fewer if downsampled."""

    name: Literal["shd"] = "shd"


DatasetSpec = Annotated[DigitsSpec | MnistSpec | NpzSpec | PythonSpec | NmnistSpec | DvsGestureSpec | ShdSpec,
                        Field(discriminator="name")]
