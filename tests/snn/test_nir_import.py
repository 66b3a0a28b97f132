"""NIR graphs -> qsearch networks: graphs written by Norse and snnTorch run exactly as those frameworks run them,
and graphs qsearch cannot express are refused with one line naming the node and its type.

Exactness: qsearch's LIF step is Norse's (tests/snn/test_dynamics_match_norse.py), so a graph written from a
Norse model must reproduce the model's output spikes exactly; snnTorch's ``Leaky`` with reset to zero is the
same discrete LIF with ``a_syn = 1`` once its NIR gain ``r`` is folded into the weights, compared exactly too.
"""

from __future__ import annotations

import warnings

import nir
import numpy as np
import pytest
import torch
from norse.torch import LICell, LIFBoxCell, LIFCell, LIFParameters, LIParameters, SequentialState

from qsearch.errors import InputError
from qsearch.snn import SpikingNetwork, map_graph
from qsearch.trial._imported_network import norse_graph

T, B = 12, 16


def _spikes(shape: tuple[int, ...], seed: int = 0, rate: float = 0.3) -> torch.Tensor:
    return (torch.rand(T, B, *shape, generator=torch.Generator().manual_seed(seed)) < rate).float()


def _qsearch(graph, input_shape, dt=1e-3, tau_convention="norse") -> SpikingNetwork:
    imported = map_graph(graph, input_shape, dt, tau_convention=tau_convention)
    model = SpikingNetwork(imported.topology, imported.neuron, readout=imported.readout)
    with torch.no_grad():
        for weight, value in zip(model.weights, imported.weights, strict=True):
            weight.copy_(value)
    return model


def _norse_run(model: SequentialState, x: torch.Tensor) -> torch.Tensor:
    state, outputs = None, []
    with torch.no_grad():
        for t in range(x.shape[0]):
            out, state = model(x[t], state)
            outputs.append(out)
    return torch.stack(outputs)


def _scaled(model: torch.nn.Module, factor: float) -> torch.nn.Module:
    torch.manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Linear | torch.nn.Conv2d):
                module.weight.mul_(factor)
    return model


P = LIFParameters(tau_mem_inv=torch.tensor(150.0), tau_syn_inv=torch.tensor(300.0), v_th=torch.tensor(0.8))


def test_norse_mlp_with_spiking_readout_reproduces_norse_spike_counts() -> None:
    torch.manual_seed(0)
    model = _scaled(SequentialState(torch.nn.Linear(20, 24, bias=False), LIFCell(P),
                                    torch.nn.Linear(24, 5, bias=False), LIFCell(P)), 6.0)
    x = _spikes((20,))
    expected = _norse_run(model, x).sum(0)
    ours = _qsearch(norse_graph(model, (20,), 1e-3), (20,))
    assert ours.neuron.constants().a_mem == pytest.approx(0.15)
    assert expected.sum() > 0  # the comparison covers spikes, not silence
    assert torch.equal(ours(x).logits, expected)


def test_norse_licell_readout_maps_to_the_li_readout() -> None:
    torch.manual_seed(1)
    li = LIParameters(tau_mem_inv=P.tau_mem_inv, tau_syn_inv=P.tau_syn_inv)
    model = _scaled(SequentialState(torch.nn.Linear(20, 24, bias=False), LIFCell(P),
                                    torch.nn.Linear(24, 5, bias=False), LICell(li)), 6.0)
    x = _spikes((20,), seed=3)
    expected = _norse_run(model, x).max(0).values
    ours = _qsearch(norse_graph(model, (20,), 1e-3), (20,))
    assert ours.readout == "li"
    torch.testing.assert_close(ours(x).logits, expected, rtol=1e-6, atol=1e-6)


def test_norse_conv_net_with_average_pooling_reproduces_norse() -> None:
    torch.manual_seed(2)
    model = _scaled(SequentialState(torch.nn.Conv2d(1, 4, 3, padding=1, bias=False), LIFCell(P),
                                    torch.nn.AvgPool2d(2), torch.nn.Flatten(),
                                    torch.nn.Linear(64, 5, bias=False), LIFCell(P)), 5.0)
    x = _spikes((1, 8, 8), seed=4)
    expected = _norse_run(model, x).sum(0)
    ours = _qsearch(norse_graph(model, (1, 8, 8), 1e-3), (64,))  # flat data take the graph's input shape
    assert [layer.kind for layer in ours.topology] == ["conv", "linear"] and ours.topology[0].pool == 2
    assert expected.sum() > 0
    assert torch.equal(ours(x.reshape(T, B, 64)).logits, expected)


def test_lif_box_cell_maps_to_lif_without_synaptic_current() -> None:
    torch.manual_seed(3)
    model = _scaled(SequentialState(torch.nn.Linear(20, 5, bias=False), LIFBoxCell()), 30.0)
    x = _spikes((20,), seed=5)
    ours = _qsearch(norse_graph(model, (20,), 1e-3), (20,))
    assert ours.neuron.constants().a_syn == 1.0
    expected = _norse_run(model, x).sum(0)
    assert expected.sum() > 0
    assert torch.equal(ours(x).logits, expected)


def test_snntorch_leaky_graph_reproduces_snntorch_spikes() -> None:
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    def leaky(n: int, **output) -> torch.nn.Module:  # per-neuron tensors: NIR's type inference needs the size
        return snn.Leaky(beta=torch.full((n,), 0.875), threshold=torch.ones(n), init_hidden=True,
                         reset_mechanism="zero", **output)

    torch.manual_seed(4)
    net = torch.nn.Sequential(torch.nn.Linear(20, 24, bias=False), leaky(24), torch.nn.Linear(24, 5, bias=False),
                              leaky(5, output=True))
    _scaled(net, 3.0)
    x = _spikes((20,), seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = export_to_nir(net, torch.zeros(20))  # an unbatched sample, as snnTorch's type inference wants
    counts = torch.zeros(B, 5)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, snn.Leaky):
                module.reset_hidden()
        for t in range(T):
            spikes, _ = net(x[t])
            counts += spikes
    ours = _qsearch(graph, (20,), dt=1e-4, tau_convention="nir")  # snnTorch writes its graphs with dt = 1e-4
    assert counts.sum() > 0
    assert torch.equal(ours(x).logits, counts)


# ----------------------------------------------------------------------------------------------- refusals


def _cuba(n: int, **override) -> nir.CubaLIF:
    values = {"tau_syn": np.full(n, 5e-3), "tau_mem": np.full(n, 1e-2), "r": np.ones(n), "v_leak": np.zeros(n),
              "v_threshold": np.ones(n)}
    return nir.CubaLIF(**{**values, **override})


def _graph(nodes: dict, edges: list[tuple[str, str]]) -> nir.NIRGraph:
    return nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([4])}), **nodes,
                               "output": nir.Output(output_type={"output": np.array([3])})}, edges=edges,
                        type_check=False)  # structure is under test here; NIR's own checks come on nir.read


def _chain(*names: str) -> list[tuple[str, str]]:
    order = ["input", *names, "output"]
    return list(zip(order, order[1:], strict=False))


W = np.ones((3, 4), dtype=np.float32)


def test_a_well_formed_graph_maps() -> None:
    imported = map_graph(_graph({"fc": nir.Linear(weight=W), "lif": _cuba(3)}, _chain("fc", "lif")), (4,))
    assert imported.neuron.constants().a_mem == pytest.approx(0.1)
    assert imported.neuron.constants().a_syn == pytest.approx(0.2)


@pytest.mark.parametrize("nodes, edges, expected", [
    ({"fc": nir.Linear(weight=W), "lif": _cuba(3)}, [*_chain("fc", "lif"), ("lif", "fc")],
     "model.path: node 'fc' (Linear) has a recurrent edge from 'lif'"),
    ({"fc": nir.Linear(weight=W), "lif": _cuba(3), "rec": nir.Linear(weight=np.eye(3))},
     [*_chain("fc", "lif"), ("lif", "rec"), ("rec", "lif")],
     "model.path: node 'lif' (CubaLIF) has a recurrent edge from 'rec'"),
    ({"fc": nir.Affine(weight=W, bias=np.ones(3)), "lif": _cuba(3)}, _chain("fc", "lif"),
     "model.path: node 'fc' (Affine) has a nonzero bias"),
    ({"fc": nir.Linear(weight=W), "lif": _cuba(3, tau_mem=np.array([1e-2, 2e-2, 1e-2]))}, _chain("fc", "lif"),
     "model.path: node 'lif' (CubaLIF) has tau_mem differing between neurons"),
    ({"fc": nir.Linear(weight=W), "if": nir.IF(r=np.ones(3), v_threshold=np.ones(3))}, _chain("fc", "if"),
     "model.path: node 'if' (IF) is an integrate-and-fire neuron without leak"),
    ({"fc": nir.Linear(weight=W), "lif": _cuba(3, w_in=np.full(3, 2.0))}, _chain("fc", "lif"),
     "model.path: node 'lif' (CubaLIF) has w_in != 1"),
    ({"fc": nir.Linear(weight=W), "lif": _cuba(3, tau_mem=np.full(3, 1e-5))}, _chain("fc", "lif"),
     "model.path: node 'lif' (CubaLIF) has dt/tau = 100 > 1"),
    ({"fc": nir.Linear(weight=W), "thr": nir.Threshold(threshold=np.ones(3))}, _chain("fc", "thr"),
     "model.path: node 'thr' (Threshold) is not supported"),
    ({"fc": nir.Linear(weight=W), "fc2": nir.Linear(weight=np.eye(3)), "lif": _cuba(3)}, _chain("fc", "fc2", "lif"),
     "model.path: node 'fc2' (Linear) follows 'fc' with no neuron between"),
])
def test_unmappable_graphs_are_refused_with_one_line(nodes, edges, expected) -> None:
    with pytest.raises(InputError) as error:
        map_graph(_graph(nodes, edges), (4,))
    message = str(error.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_layers_with_different_constants_are_refused() -> None:
    nodes = {"fc": nir.Linear(weight=np.ones((4, 4))), "lif": _cuba(4), "fc2": nir.Linear(weight=W),
             "lif2": _cuba(3, v_threshold=np.full(3, 2.0))}
    with pytest.raises(InputError, match=r"^model.path: node 'lif2' \(CubaLIF\) has v_th = 2, node 'lif' 1; "
                                         "qsearch runs one set of neuron constants"):
        map_graph(_graph(nodes, _chain("fc", "lif", "fc2", "lif2")), (4,))


def test_per_neuron_gain_folds_into_the_weight_rows() -> None:
    r = np.array([1.0, 2.0, 0.5])
    imported = map_graph(_graph({"fc": nir.Linear(weight=W), "lif": _cuba(3, r=r)}, _chain("fc", "lif")), (4,))
    assert torch.equal(imported.weights[0], torch.tensor(W * r[:, None]))
