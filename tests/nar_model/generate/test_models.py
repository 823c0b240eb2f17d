"""G-VAE, latent flow, descriptors and evolution: shapes, a one-step training smoke test, invariants."""

import numpy as np
import torch

from nar_model.generate.cell import is_valid, sample_cells
from nar_model.generate.descriptors import PCA, assign, kmeans
from nar_model.generate.evolution import random_search, regularized_evolution, two_phase_evolution
from nar_model.generate.flow import FlowConfig, fit_flow
from nar_model.generate.vae import GVAE, VAEConfig, cells_to_tensors, fit_vae, reconstruction_accuracy


def test_vae_encode_decode_shapes_and_one_step_training():
    cells = sample_cells(16, seed=0)
    config = VAEConfig(hidden=16, latent=4, epochs=1, batch_size=8)
    vae = GVAE(config)
    t = cells_to_tensors(cells)
    mu, logvar = vae.encode(t["adj"], t["x"])
    assert mu.shape == logvar.shape == (16, 4)
    out = vae.decode(mu)
    assert out["edges"].shape == (16, 28) and out["ops"].shape == (16, 6, 10) and out["kernels"].shape == (16, 6, 3)
    trained = fit_vae(cells, config)
    assert any(not torch.equal(a, b) for a, b in zip(vae.state_dict().values(), trained.state_dict().values()))
    decoded = trained.decode_cells(torch.randn(5, 4))
    assert len(decoded) == 5 and all(is_valid(c) or c.num_edges < 3 for c in decoded)
    acc = reconstruction_accuracy(trained, cells)
    assert 0.0 <= acc["op_acc"] <= 1.0 and set(acc) >= {"op_acc", "adj_acc", "cell_acc"}


def test_vae_learns_to_reconstruct_a_few_cells():
    cells = sample_cells(16, seed=1)
    vae = fit_vae(cells, VAEConfig(hidden=32, latent=8, epochs=150, batch_size=16, lr=3e-3))
    assert reconstruction_accuracy(vae, cells)["op_acc"] > 0.5  # chance is 0.1


def test_flow_sampling_shapes_and_conditioning_input():
    z = torch.randn(64, 4) * 3 + 1
    c = torch.randn(64, 2)
    flow = fit_flow(z, c, FlowConfig(hidden=16, epochs=1, batch_size=32))
    g = torch.Generator().manual_seed(0)
    assert flow.sample(5, generator=g, steps=2).shape == (5, 4)
    a = flow.sample(5, c[0], guidance=2.0, steps=2, generator=torch.Generator().manual_seed(0))
    b = flow.sample(5, c[0], guidance=2.0, steps=2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)


def test_pca_and_kmeans():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (20, 5)), rng.normal(5, 0.1, (20, 5))])
    p = PCA.fit(x, 2)
    assert p(x).shape == (40, 2) and abs(float(p(x)[:, 0].std()) - 1) < 0.1
    centres, labels = kmeans(x, 2)
    assert len(set(labels[:20])) == 1 and labels[0] != labels[-1]
    assert (assign(x, centres) == labels).all()


def test_evolution_beats_random_on_a_toy_problem_and_respects_budget():
    target = 37

    def fitness(v: int) -> float:
        return -abs(v - target)

    init = lambda rng: int(rng.integers(0, 1000))  # noqa: E731
    mutate = lambda v, rng: int(np.clip(v + rng.integers(-20, 21), 0, 999))  # noqa: E731
    evo = regularized_evolution(init, mutate, fitness, 100, population=10, sample=3, seed=0)
    rnd = random_search(init, fitness, 100, seed=0)
    assert len(evo) == len(rnd) == 100
    assert max(e.fitness for e in evo) >= max(e.fitness for e in rnd)
    p1, p2 = two_phase_evolution(lambda rng: int(rng.integers(10)), lambda f, rng: int(rng.integers(10)),
                                 lambda f: -abs(f * 100 - target), lambda best, rng: int(best[0] * 100),
                                 mutate, fitness, 50, population=5, sample=2)
    assert len(p1) + len(p2) == 50 and all(e.item < 100 for e in p2[:5])


def test_macro_transformer_samples_valid_skeletons_after_one_epoch():
    from nar_model.generate.macro_model import MacroConfig, fit_macro_model, prompt_vector, stages_to_tokens
    from nar_model.generate.skeleton import Macro, sample_skeleton

    rng = np.random.default_rng(0)
    skels = [sample_skeleton(rng, 1, max_stages=3, max_repeats=3) for _ in range(16)]
    prompts = torch.stack([prompt_vector(10, 32, 1e6, 2e8)] * 16)
    model = fit_macro_model(prompts, skels, MacroConfig(width=16, layers=1, heads=2, epochs=1, batch_size=8))
    out = model.sample(prompts[0], n=4, generator=torch.Generator().manual_seed(0))
    cells = tuple(sample_cells(1))
    for stages in out:
        assert 1 <= len(stages) <= 5 and stages[0].stride == 1
        Macro(cells, tuple(stages))  # validates channels, strides, <= 20 cells
    assert stages_to_tokens(skels[0])[0] != stages_to_tokens(skels[0])[-1]


def test_sign_test_is_exact_and_two_sided():
    from nar_model.generate.nbgraph import sign_test

    assert sign_test(0, 0) == 1.0
    assert sign_test(5, 5) == 1.0
    assert abs(sign_test(15, 2) - 2 * sum(__import__("math").comb(17, i) for i in range(3)) / 2 ** 17) < 1e-12
    assert sign_test(15, 2) == sign_test(2, 15) < 0.01


def test_macro_training_pairs_are_under_their_budget_and_round_trip(tmp_path):
    import math

    from nar_model.generate.cost import macro_cost
    from nar_model.generate.macro_model import (PROMPT_DIM, MacroConfig, cell_features, load_macro_model,
                                                save_macro_model, train_macro_model, training_pairs)
    from nar_model.generate.skeleton import Macro

    prompts, skels, costs = training_pairs(40, seed=3, max_slack=4.0)
    assert prompts.shape == (40, PROMPT_DIM) and len(skels) == len(costs) == 40
    # the prompt's budgets are the network's cost times a slack in [1, 4]
    budget_p, budget_f = 10 ** (prompts[:, 2].double() * 8), 10 ** (prompts[:, 3].double() * 10)
    assert (budget_p >= torch.from_numpy(costs[:, 0]) * 0.999).all() and (budget_p <= torch.from_numpy(costs[:, 0]) * 4.01).all()
    assert (budget_f >= torch.from_numpy(costs[:, 1]) * 0.999).all() and (budget_f <= torch.from_numpy(costs[:, 1]) * 4.01).all()
    assert all(1 <= sum(s.repeats for s in st) <= 20 and st[0].stride == 1 for st in skels)
    # a cell of six MBConv-6 nodes costs more per channel than one of skips and pools
    from nar_model.generate.cell import OPS, Cell

    adj = sample_cells(1)[0].adj
    heavy = Cell((OPS.index("mbconv_e6"),) * 6, (5,) * 6, (True,) * 6, adj)
    light = Cell((OPS.index("skip"),) * 6, (1,) * 6, (False,) * 6, adj)
    assert cell_features(heavy)[0] > cell_features(light)[0] and cell_features(None) == [0.0, 0.0]
    model = train_macro_model(16, seed=0, config=MacroConfig(width=16, layers=1, heads=2, epochs=1, batch_size=8))
    save_macro_model(model, tmp_path / "m.pt")
    again = load_macro_model(tmp_path / "m.pt")
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert again.sample(prompts[0], 3, generator=g()) == model.sample(prompts[0], 3, generator=g())
    params, flops = macro_cost(Macro(tuple(sample_cells(1)), tuple(again.sample(prompts[0], 1)[0])), 32)
    assert params > 0 and flops > 0 and math.isfinite(flops)


def test_flow_temperature_zero_starts_every_sample_at_the_same_point():
    z = torch.randn(64, 4)
    flow = fit_flow(z, torch.randn(64, 2), FlowConfig(hidden=16, epochs=1, batch_size=32))
    cold = flow.sample(3, torch.zeros(2), steps=2, temperature=0.0, generator=torch.Generator().manual_seed(0))
    warm = flow.sample(3, torch.zeros(2), steps=2, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(cold[0], cold[1]) and torch.allclose(cold[1], cold[2])
    assert not torch.allclose(warm[0], warm[1])


def test_pca_randomized_top_axes_match_the_exact_svd_and_whitening_is_optional():
    from nar_model.generate.descriptors import _top_svd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 200)) * np.r_[[10.0, 6.0, 3.0, 1.5, 0.7], np.full(195, 0.05)]
    _, s, vt = _top_svd(x, 5)
    _, s_exact, vt_exact = np.linalg.svd(x, full_matrices=False)
    assert np.allclose(s, s_exact[:5], rtol=1e-6)
    assert np.allclose(np.abs((vt * vt_exact[:5]).sum(1)), 1.0, atol=1e-6)
    plain = PCA.fit(x, 5, whiten=False)(x)
    assert plain[:, 0].std() > 2 * plain[:, 4].std()  # relative variances kept
    assert abs(float(PCA.fit(x, 5)(x)[:, 4].std()) - 1) < 0.05  # whitened: unit variance per axis


def test_vae_latent_shaping_head_learns_the_condition():
    cells = sample_cells(64, seed=2)
    cond = torch.randn(64, 3)
    known = torch.zeros(64)
    known[:32] = 1
    config = VAEConfig(hidden=16, latent=8, epochs=1, batch_size=16, cond_dim=3, cond_weight=1.0)
    vae = GVAE(config)
    t = cells_to_tensors(cells)
    _, stats = vae.loss({**{k: v[:16] for k, v in t.items()}, "cond": cond[:16], "known": known[:16]})
    assert "cond" in stats and stats["cond"] > 0
    plain = fit_vae(cells, VAEConfig(hidden=16, latent=8, epochs=1, batch_size=16))
    assert plain.cond_head is None
    shaped = fit_vae(cells, config, cond=cond, known=known)
    assert shaped.cond_head is not None and shaped.cond_head(shaped.embed_cells(cells[:2])).shape == (2, 3)
