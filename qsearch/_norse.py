"""The one place qsearch imports Norse: its import warns about ``torch.jit.script`` (a Norse matter, not ours)."""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    import norse.torch  # noqa: F401  (imports the package once, under the filter)
    from norse.torch.functional.leaky_integrator import LIParameters, LIState, li_feed_forward_step
    from norse.torch.functional.lif import LIFFeedForwardState, LIFParameters, lif_feed_forward_step
    from norse.torch.functional.threshold import threshold

__all__ = ["LIFFeedForwardState", "LIFParameters", "LIParameters", "LIState", "li_feed_forward_step",
           "lif_feed_forward_step", "threshold"]
