"""Exporting one trial as a deployable integer network: weight codes, formats, a model card and a NIR graph.

``export_trial`` re-runs the trial's training (seeded, so it reproduces the network the study measured),
freezes its quantization plan and writes into one folder:

- ``weights_layer{i}.npy``: integer weight codes, (out, in) or (out, in_channels, k, k) for conv, int8 or int16 —
  value = code * 2**-frac_bits;
- ``mask_layer{i}.npy`` (pruned layers only): the pruning mask, ``numpy.packbits`` of the row-major mask;
- ``network.json``: everything an integer datapath needs besides the weights (:func:`network_description`);
- ``model_card.json``: study, trial, configuration and every measured metric, plus the selection rule and the
  devices the trial and the export ran on;
- ``network.nir``: the same network as a NIR graph (dequantized float weights, per-neuron CubaLIF parameters,
  Conv2d/SumPool2d/Flatten for conv networks; not written for max pooling, which NIR cannot express;
  the quantization metadata rides in the nodes' ``metadata``, which NIR 1.0.8 writes and reads back).

``load_exported`` rebuilds the :class:`~qsearch.snn.integer.IntegerNetwork` from the folder and
``evaluate_exported`` runs it on the study's data: for truncate/nearest rounding it reproduces the stored
accuracy exactly.
"""

from qsearch.export._network_files import CARD_FILE, FORMAT_NAME, NETWORK_FILE, NIR_FILE, network_description
from qsearch.export._out_folder import check_out_folder, writing_into
from qsearch.export._reading import evaluate_exported, load_exported
from qsearch.export._trial_export import export_trial, retrain_trial

__all__ = [
    "CARD_FILE", "FORMAT_NAME", "NETWORK_FILE", "NIR_FILE", "check_out_folder", "evaluate_exported", "export_trial",
    "load_exported", "network_description", "retrain_trial", "writing_into",
]
