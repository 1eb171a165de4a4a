"""ComFormer and peers: naive references, gradcheck, invariances, chirality, equivariance."""

import math

import numpy as np
import pytest
import torch
from pymatgen.core import Lattice, Structure

from sciformers.core import create_model, list_models
from sciformers.crystals import collate, structure_to_graph
from sciformers.crystals.layers import EdgeLayer, NodeLayer

from .conftest import random_rotation, random_structure

MODELS = ["crystals.icomformer", "crystals.ecomformer", "cgcnn", "schnet"]
TINY = {
    "crystals.icomformer": dict(preset="small", dim=8, rbf_bins=8),
    "crystals.ecomformer": dict(preset="small", dim=8, rbf_bins=8, equi_scalars=4, equi_vectors=2),
    "cgcnn": dict(dim=8, hidden=8),
    "schnet": dict(dim=8, rbf_bins=8),
}


def tiny(name: str, **kw):
    torch.manual_seed(0)
    model = create_model(name, **TINY[name], **kw).double().eval()
    # non-trivial batch-norm statistics, so the eval-mode affine maps are not identities
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


def test_models_are_registered():
    assert set(MODELS) <= set(list_models())


def _naive_gated(q_in, k_in, v_in, weights, layer, dim):
    """Eq. 5-6 for one (query, key/value) pair with plain matrix algebra."""
    lin = lambda m, x: m.weight @ x + m.bias  # noqa: E731
    mlp = lambda seq, x: lin(seq[2], torch.nn.functional.silu(lin(seq[0], x)))  # noqa: E731
    bn = layer.gate_norm
    key = mlp(layer.key_mlp, k_in)
    alpha = lin(layer.query, q_in) * key / math.sqrt(dim)
    gate = torch.sigmoid((alpha - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias)
    return mlp(layer.value_mlp, v_in) * gate


def _bn(bn, x):
    return (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias


def test_node_layer_matches_naive_loop():
    torch.manual_seed(1)
    d, n = 6, 4
    layer = NodeLayer(d).double().eval()
    for bn in (layer.gate_norm, layer.out_norm):
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    h, e = torch.randn(n, d, dtype=torch.float64), torch.randn(7, d, dtype=torch.float64)
    edge_index = torch.tensor([[1, 2, 3, 0, 0, 2, 3], [0, 0, 0, 1, 2, 1, 1]])
    out = layer(h, edge_index, e)
    lin = lambda m, x: m.weight @ x + m.bias  # noqa: E731
    for i in range(n):
        total = torch.zeros(d, dtype=torch.float64)
        for k, (j, c) in enumerate(edge_index.T.tolist()):
            if c == i:
                ki, kj, vi, vj, we = lin(layer.key, h[i]), lin(layer.key, h[j]), lin(layer.value, h[i]), lin(layer.value, h[j]), lin(layer.edge, e[k])
                total += _naive_gated(h[i], torch.cat([ki, kj, we]), torch.cat([vi, vj, we]), None, layer, d)
        expected = torch.nn.functional.softplus(h[i] + _bn(layer.out_norm, lin(layer.out, total)))
        assert torch.allclose(out[i], expected, atol=1e-12)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_cgcnn_gated_conv_matches_eq5_loop(batch_norm):
    from sciformers.crystals.peers import GatedConv

    torch.manual_seed(4)
    d, n, edge_dim = 5, 4, 3
    conv = GatedConv(d, edge_dim, batch_norm=batch_norm).double().eval()
    if batch_norm:
        conv.bn.running_mean.uniform_(-1, 1)
        conv.bn.running_var.uniform_(0.5, 2)
    h, u = torch.randn(n, d, dtype=torch.float64), torch.randn(7, edge_dim, dtype=torch.float64)
    edge_index = torch.tensor([[1, 2, 3, 0, 0, 2, 3], [0, 0, 0, 1, 2, 1, 1]])
    out = conv(h, edge_index, u)
    lin = lambda m, x: m.weight @ x + m.bias  # noqa: E731
    for i in range(n):
        total = torch.zeros(d, dtype=torch.float64)
        for k, (j, c) in enumerate(edge_index.T.tolist()):
            if c == i:  # eq. 5: z = [v_i | v_j | u_(i,j)]
                z = torch.cat([h[i], h[j], u[k]])
                total += torch.sigmoid(lin(conv.lin_f, z)) * torch.nn.functional.softplus(lin(conv.lin_s, z))
        expected = h[i] + (_bn(conv.bn, total) if batch_norm else total)
        assert torch.allclose(out[i], expected, atol=1e-12)
    assert torch.autograd.gradcheck(lambda x: conv(x, edge_index, u), h.clone().requires_grad_())


@pytest.mark.parametrize("name", MODELS)
def test_a_batch_predicts_what_each_graph_predicts_alone(name):
    graphs = [structure_to_graph(random_structure(s, n_atoms=2 + s)) for s in range(3)]
    model = tiny(name)
    with torch.no_grad():
        together = model(collate(graphs))
        alone = torch.cat([model(collate([g])) for g in graphs])
    assert together.shape == (3,) and torch.allclose(together, alone, atol=1e-10)


@pytest.mark.parametrize("lattice_weights", ["per_vector", "shared"])
def test_edge_layer_matches_naive_loop(lattice_weights):
    torch.manual_seed(2)
    d, n_edges = 5, 3
    layer = EdgeLayer(d, lattice_weights).double().eval()
    for bn in (layer.gate_norm, layer.out_norm):
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    e = torch.randn(n_edges, d, dtype=torch.float64)
    lat, ang = torch.randn(n_edges, 3, d, dtype=torch.float64), torch.randn(n_edges, 3, d, dtype=torch.float64)
    out = layer(e, lat, ang)
    lin = lambda m, x: m.weight @ x + (m.bias if m.bias is not None else 0)  # noqa: E731
    for a in range(n_edges):
        messages = []
        for m in range(3):
            w = m if lattice_weights == "per_vector" else 0  # reference: lin_key_e1..3, lin_value_e1..3
            t = layer.angle.weight @ ang[a, m]  # no bias
            key_in = torch.cat([lin(layer.key, e[a]), lin(layer.lattice_key[w], lat[a, m]), t])
            value_in = torch.cat([lin(layer.value, e[a]), lin(layer.lattice_value[w], lat[a, m]), t])
            messages.append(lin(layer.out, _naive_gated(e[a], key_in, value_in, None, layer, d)))
        expected = torch.nn.functional.softplus(e[a] + _bn(layer.out_norm, sum(messages)))
        assert torch.allclose(out[a], expected, atol=1e-12)


def test_per_vector_lattice_weights_tell_l1_from_l2():
    # the reference's separate weights see which vector is the shortest; shared weights see a set
    torch.manual_seed(5)
    d = 6
    e = torch.randn(4, d, dtype=torch.float64)
    lat, ang = torch.randn(4, 3, d, dtype=torch.float64), torch.randn(4, 3, d, dtype=torch.float64)
    swap = [1, 0, 2]
    for weights, differs in (("per_vector", True), ("shared", False)):
        layer = EdgeLayer(d, weights).double().eval()
        delta = (layer(e, lat, ang) - layer(e, lat[:, swap], ang[:, swap])).abs().max()
        assert (delta > 1e-3) if differs else (delta < 1e-12), weights
    # the same through the model: a crystal against the same crystal with l1 and l2 swapped in the frame
    s = Structure(Lattice.from_parameters(3.0, 4.5, 6.0, 80, 95, 105), ["Cu", "Au"], [[0, 0, 0], [0.4, 0.55, 0.5]])
    g = collate([structure_to_graph(s)])
    swapped = g.clone()
    swapped.lattice = g.lattice[:, swap]
    assert torch.allclose(swapped.lattice.norm(dim=-1), torch.tensor([[4.5, 3.0, 6.0]], dtype=torch.float64))
    for weights, differs in (("per_vector", True), ("shared", False)):
        model = tiny("crystals.icomformer", lattice_weights=weights)
        with torch.no_grad():
            delta = (model(g) - model(swapped)).abs().item()
        # per vector: far beyond round-off (a rotated crystal agrees to 1e-16); shared: identical
        assert (delta > 1e-9) if differs else (delta < 1e-12), weights
    with pytest.raises(ValueError, match="lattice_weights"):
        EdgeLayer(d, "tied")


def test_ecomformer_update_matches_an_explicit_loop():
    # reference ComformerConvEqui: padded residual of the input scalars after TP1 only, Softplus
    # in the edge MLPs, then softplus(Linear(softplus(BN(s)))) + Linear skip
    o3 = pytest.importorskip("e3nn.o3")
    from sciformers.crystals.equivariant import EquivariantUpdate

    torch.manual_seed(6)
    d, ns = 6, 3
    layer = EquivariantUpdate(d, scalars=ns, vectors=2).double().eval()
    layer.norm.running_mean.uniform_(-0.5, 0.5)
    layer.norm.running_var.uniform_(0.5, 2.0)
    h, e = torch.randn(4, d, dtype=torch.float64), torch.randn(5, d, dtype=torch.float64)
    vec = torch.randn(5, 3, dtype=torch.float64)
    edge_index = torch.tensor([[1, 2, 0, 3, 2], [0, 0, 1, 1, 3]])  # node 2 receives nothing
    lin = lambda m, x: m.weight @ x + m.bias  # noqa: E731
    sp = torch.nn.functional.softplus
    weights = lambda mlp, x: lin(mlp[2], sp(lin(mlp[0], x)))  # noqa: E731
    sh = [o3.spherical_harmonics(layer.irreps_sh, v, normalize=True, normalization="component") for v in vec]
    x = [lin(layer.lin_in, hi) for hi in h]
    incoming = [[k for k in range(5) if edge_index[1, k] == i] for i in range(4)]

    def mean_tp(tp, mlp, feats, i):
        terms = [tp(feats[edge_index[0, k]][None], sh[k][None], weights(mlp, e[k])[None])[0] for k in incoming[i]]
        return torch.stack(terms).mean(0) if terms else torch.zeros(tp.irreps_out.dim, dtype=torch.float64)

    f = [mean_tp(layer.tp1, layer.weights1, x, i) + torch.cat([x[i], torch.zeros(layer.irreps_mid.dim - ns)])
         for i in range(4)]
    s = [mean_tp(layer.tp2, layer.weights2, f, i) for i in range(4)]
    expected = torch.stack([sp(lin(layer.lin_out, sp(_bn(layer.norm, s[i])))) + lin(layer.skip, h[i]) for i in range(4)])
    assert torch.allclose(layer(h, edge_index, vec, e), expected, atol=1e-12)
    # the l = 1, 2 channels get no residual
    assert torch.allclose(layer.equivariant_features(h, edge_index, vec, e)[1][2], f[2])
    assert f[2][ns:].abs().max() == 0


def _layer_cases():
    from sciformers.crystals.equivariant import EquivariantUpdate
    from sciformers.crystals.peers import Interaction

    edge_index = torch.tensor([[1, 2, 0, 0], [0, 0, 1, 2]])
    yield "node", NodeLayer(4), lambda m, h, e, v: m(h, edge_index, e)
    yield "edge", EdgeLayer(4), lambda m, h, e, v: m(e, v[:, None, :1].expand(-1, 3, 4) ** 2, e[:, None].expand(-1, 3, -1).sin())
    yield "equivariant", EquivariantUpdate(4, scalars=2, vectors=1), lambda m, h, e, v: m(h, edge_index, v, e)
    yield "schnet", Interaction(4, rbf_bins=4), lambda m, h, e, v: m(h, edge_index, e)


@pytest.mark.parametrize("case", list(_layer_cases()), ids=lambda c: c[0])
def test_layers_pass_gradcheck(case):
    _, layer, apply = case
    torch.manual_seed(4)
    layer = layer.double().eval()
    h = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    e = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    v = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    # e3nn's generated tensor-product code keeps float32 constants: a looser tolerance there
    tol = 1e-4 if case[0] == "equivariant" else 1e-6
    assert torch.autograd.gradcheck(lambda h, e, v: apply(layer, h, e, v), (h, e, v), eps=1e-6, atol=tol, rtol=tol)


def _predict(model, structures):
    return np.asarray(model.predict(structures), dtype=np.float64)


def _transformed(s: Structure, seed: int) -> dict[str, Structure]:
    rng = np.random.default_rng(seed)
    rot = random_rotation(seed)
    rotated = Structure(Lattice(s.lattice.matrix @ rot.T), s.species, s.cart_coords @ rot.T, coords_are_cartesian=True)
    shift = rng.normal(size=3) * 2
    translated = Structure(s.lattice, s.species, s.cart_coords + shift, coords_are_cartesian=True)
    perm = rng.permutation(len(s))
    permuted = Structure(s.lattice, [s.species[i] for i in perm], s.frac_coords[perm])
    basis = np.array([[1, 0, 1], [0, 1, 0], [-1, 1, 0]])  # det 1
    rebased = Structure(Lattice(basis @ s.lattice.matrix), s.species, s.cart_coords, coords_are_cartesian=True)
    supercell = s.make_supercell([[1, 1, 0], [0, 2, 0], [0, 0, 1]], in_place=False)
    return {"rotation": rotated, "translation": translated, "permutation": permuted, "basis": rebased,
            "supercell": supercell}


@pytest.mark.parametrize("name", MODELS)
def test_prediction_is_invariant(name):
    # float64 throughout: rotation, translation, permutation, change of basis, non-diagonal supercell
    model = tiny(name)
    model.set_target_scaling(-0.3, 0.2)
    for seed in (11, 12):
        s = random_structure(seed, n_atoms=4)
        base = _predict(model, [s])
        variants = _transformed(s, 3)
        preds = _predict(model, list(variants.values()))
        for (kind, _), p in zip(variants.items(), preds):
            assert abs(p - base[0]) <= 1e-10, kind
    other = _predict(model, [random_structure(13, n_atoms=4)])
    assert abs(other[0] - base[0]) > 1e-6  # the model is not constant


@pytest.mark.parametrize("name", ["crystals.ecomformer", "cgcnn", "schnet"])
def test_local_models_are_supercell_invariant_without_reduction(name):
    # per-atom neighbourhoods and a mean over atoms: only the lattice self-edges and iComFormer's frame need
    # the primitive cell
    model = tiny(name, graph={"primitive": False, "lattice_self_edges": False})
    s = random_structure(15, n_atoms=3)
    base, big = _predict(model, [s, s.make_supercell([[1, 1, 0], [0, 2, 0], [0, 1, 1]], in_place=False)])
    assert abs(big - base) <= 1e-10


def _mirror(s: Structure) -> Structure:
    m = np.diag([-1.0, 1.0, 1.0])
    return Structure(Lattice(s.lattice.matrix @ m), s.species, s.cart_coords @ m, coords_are_cartesian=True)


def test_chiral_pair_gets_different_lattice_features_and_predictions():
    s = random_structure(12, n_atoms=4)
    model = tiny("crystals.icomformer")
    g, gm = collate([structure_to_graph(s)]), collate([structure_to_graph(_mirror(s))])
    assert torch.equal(g.edge_index, gm.edge_index)  # the same k-NN relations ...
    lengths, cos = model.lattice_features(g)
    lengths_m, cos_m = model.lattice_features(gm)
    assert torch.allclose(lengths, lengths_m)
    assert not torch.allclose(cos, cos_m, atol=1e-3)  # ... seen from a frame of the other hand
    assert torch.allclose(cos_m, -cos, atol=1e-9)
    rotated = _transformed(s, 5)["rotation"]
    p, pm, pr = _predict(model, [s, _mirror(s), rotated])
    # the mirror image's prediction differs far beyond round-off (a rotation's agrees to it)
    assert abs(p - pm) > 1e-12 * abs(p) and abs(p - pm) > 1e3 * abs(p - pr)
    # E(3)-invariant models cannot tell the pair apart
    for name in ("crystals.ecomformer", "schnet"):
        q, qm = _predict(tiny(name), [s, _mirror(s)])
        assert abs(q - qm) <= 1e-8 * abs(q) + 1e-12


def test_ecomformer_update_is_equivariant_at_the_feature_level():
    o3 = pytest.importorskip("e3nn.o3")
    model = tiny("crystals.ecomformer")
    layer = model.equivariant
    torch.manual_seed(3)
    n, d = 5, 8
    h = torch.randn(n, d, dtype=torch.float64)
    edge_index = torch.tensor([[1, 2, 3, 4, 0, 2], [0, 0, 1, 1, 2, 3]])
    vec = torch.randn(6, 3, dtype=torch.float64)
    e = torch.randn(6, d, dtype=torch.float64)
    _, f = layer.equivariant_features(h, edge_index, vec, e)
    rot = torch.tensor(random_rotation(4))
    for q in (rot, -rot):  # a rotation, and a rotation times inversion
        _, fq = layer.equivariant_features(h, edge_index, vec @ q.T, e)
        D = layer.irreps_mid.D_from_matrix(q)
        # e3nn's generated code keeps float32 constants, so agreement is to float32 round-off
        assert torch.allclose(fq, f @ D.T, atol=1e-6)
        assert torch.allclose(layer(h, edge_index, vec @ q.T, e), layer(h, edge_index, vec, e), atol=1e-6)
    # the l = 1, 2 channels are not trivially zero
    assert f[:, layer.irreps_mid[0].dim:].abs().max() > 1e-3


def test_paper_sizes():
    # paper Table 4: iComFormer 5.0 M, eComFormer 12.4 M parameters (d = 256, 256 bins)
    n_i = sum(p.numel() for p in create_model("crystals.icomformer").parameters())
    n_e = sum(p.numel() for p in create_model("crystals.ecomformer").parameters())
    assert 2e6 < n_i < 6e6 and n_e > n_i


def test_checkpoint_round_trip(tmp_path):
    from sciformers.crystals import ComFormer, CrystalModel

    model = tiny("crystals.icomformer")
    model.set_target_scaling(1.5, 0.25)
    s = random_structure(13)
    model.save(tmp_path / "m")
    loaded = ComFormer.from_checkpoint(tmp_path / "m").double()
    assert np.allclose(_predict(loaded, [s]), _predict(model, [s]))
    tiny("cgcnn").save(tmp_path / "c")
    with pytest.raises(ValueError, match="not a ComFormer"):
        ComFormer.from_checkpoint(tmp_path / "c")
    assert isinstance(CrystalModel.from_checkpoint(tmp_path / "c"), CrystalModel)


def test_wrong_variant_is_refused():
    with pytest.raises(ValueError, match="icomformer variant"):
        create_model("crystals.icomformer", variant="ecomformer")
