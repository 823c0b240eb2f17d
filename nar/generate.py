"""Generation orchestration: trace generated networks into `Graph` rows (source ``hgnas``), write the
synthetic benchmark as a nar dataset, generate candidates near a query, and run the budgeted search.

The generative models and the spaces are pure torch in `nar_model.generate`; this module adds what needs
the tracer (`nar_data.tracing`) and the retrieval encoders (`nar_model`).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nar_data.parquet import TableWriter
from nar_data.schema import Graph
from nar_data.tracing import trace_module
from nar_model.generate.benchmark import benchmark_specs
from nar_model.generate.cell import Cell, cell_hash, is_valid, sample_cells
from nar_model.generate.descriptors import PCA, assign, kmeans
from nar_model.generate.flow import FlowConfig, LatentFlow, fit_flow
from nar_model.generate.skeleton import Macro, Stage, build_network, macro_hash, macro_to_dict
from nar_model.generate.vae import GVAE, VAEConfig, fit_vae

__all__ = ["GROUPS_FILE", "PROBE", "CellGenerator", "benchmark_retrieval", "budget_search", "build_benchmark", "embed_cells", "embed_graphs",
           "generate", "generate_near",
           "load_groups", "probe_macro", "runs_forward", "train_generator", "trace_macro", "trace_probes"]

#: Side file of a benchmark dataset: model_id -> its group labels and its macro (to rebuild the network).
GROUPS_FILE = "hgnas_groups.json"


def trace_macro(macro: Macro, input_size: int = 32, family: str = "unknown") -> Graph:
    """The `Graph` of ``macro`` traced on the meta device on a ``1 x C x input_size x input_size`` input."""
    net = build_network(macro, "meta")
    x = torch.empty(1, macro.in_channels, input_size, input_size, device="meta")
    mid = f"hgnas:{macro_hash(macro)}"
    return trace_module(net, (x,), model_id=mid, source="hgnas", config_hash=mid, family=family, coarse="cnn",
                        task="image-classification", builder="nar_model.generate.build_network")


def build_benchmark(out: str | os.PathLike, families: int = 50, skeletons: int = 40, seed: int = 0,
                    input_size: int = 32, progress: Callable[[int, int], None] | None = None,
                    resume: bool = False, limit_s: float | None = None, **spec_kwargs: Any) -> dict[str, Any]:
    """Trace ``families x skeletons`` benchmark networks into the ``graphs`` table of ``out`` and write
    `GROUPS_FILE` next to it. Graphs carry ``family`` = the cell family; the skeleton label is in the side file.

    ``resume``: networks already in ``out``'s graphs table are read back, not traced again (a build that was
    stopped goes on where it was). ``limit_s``: stop tracing after this many seconds; the groups file then
    lists the cell families traced in full (networks are traced family by family), so every group it names
    is whole, and says how many networks were left untraced (``resume=True`` later finishes the build).

    Returns:
        ``{"networks", "traced", "failed", "untraced", "seconds", "per_network_s", "groups_file"}``
    """
    from nar_data.parquet import read_graphs

    items = benchmark_specs(families, skeletons, seed=seed, **spec_kwargs)
    out = Path(out)
    done = ({g.model_id: g for g in read_graphs(out, unique=False)}
            if resume and (out / "graphs").is_dir() else {})
    groups: dict[str, dict[str, Any]] = {}
    failed: list[str] = []
    start = time.perf_counter()
    traced_now = 0
    stopped = False
    with TableWriter(out, "graphs") as writer:
        for i, item in enumerate(items):
            g = done.get(item.model_id)
            if g is None:
                if limit_s is not None and time.perf_counter() - start > limit_s:
                    stopped = True
                    break
                try:
                    g = trace_macro(item.macro, input_size, family=item.cell_family)
                except Exception as e:  # noqa: BLE001 - a failure is counted and reported, the rest goes on
                    failed.append(f"{item.model_id}: {type(e).__name__}: {e}"[:300])
                    continue
                writer.write(g)
                traced_now += 1
            groups[item.model_id] = {"arch_id": g.arch_id, "cell_family": item.cell_family,
                                     "skeleton": item.skeleton, "num_params": g.num_params, "flops": g.flops,
                                     "macro": macro_to_dict(item.macro)}
            if progress:
                progress(i + 1, len(items))
    if stopped:  # keep whole families only: the last one may be cut in the middle
        size = Counter(item.cell_family for item in items)
        have = Counter(m["cell_family"] for m in groups.values())
        groups = {k: v for k, v in groups.items() if have[v["cell_family"]] == size[v["cell_family"]]}
    seconds = time.perf_counter() - start
    meta = {"seed": seed, "families": families, "skeletons": skeletons, "input_size": input_size,
            "spec": {k: v for k, v in spec_kwargs.items()}, "failed": failed, "complete": not stopped,
            "untraced": len(items) - len(groups) - len(failed), "networks": groups}
    (out / GROUPS_FILE).write_text(json.dumps(meta))
    return {"networks": len(items), "traced": len(groups), "failed": len(failed), "untraced": meta["untraced"],
            "seconds": seconds, "per_network_s": seconds / max(traced_now, 1), "groups_file": str(out / GROUPS_FILE)}


def load_groups(root: str | os.PathLike) -> dict[str, Any]:
    """The `GROUPS_FILE` of a benchmark dataset.

    Raises:
        FileNotFoundError: ``root`` is not a benchmark (build one with ``nar generate --benchmark``).
    """
    path = Path(root) / GROUPS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: build the benchmark first (nar generate --benchmark OUT)")
    return json.loads(path.read_text())


def benchmark_retrieval(root: str | os.PathLike, seed: int = 0, queries: int = 300) -> dict[str, float]:
    """Group MRR@20 of the training-free WL retriever and of a parameters/FLOPs-only one (z-scored log
    params and FLOPs, cosine) on a benchmark dataset, for both label sets (cell family, skeleton); the
    ``queries`` are drawn with ``seed``."""
    from nar_data.parquet import read_graphs
    from nar_model.metrics import evaluate

    nets = load_groups(root)["networks"]
    graphs = {g.model_id: g for g in read_graphs(root, unique=False)}
    ids = [m for m in nets if m in graphs]
    wl = embed_graphs([graphs[m] for m in ids])
    cost = np.log(np.array([[graphs[m].num_params, graphs[m].flops] for m in ids], dtype=np.float64))
    cost = ((cost - cost.mean(0)) / np.maximum(cost.std(0), 1e-12)).astype(np.float32)
    picks = np.random.default_rng(seed).choice(len(ids), size=min(queries, len(ids)), replace=False)
    out: dict[str, float] = {}
    for name in ("cell_family", "skeleton"):
        labels = [nets[m][name] for m in ids]
        for method, emb in (("wl", wl), ("params_flops", cost)):
            out[f"{method}_{name}_mrr@20"] = evaluate(emb, labels, picks, ks=(20,))["mrr@20"]
    return out


# -- the cell generator: G-VAE + conditional flows, conditioned on retrieval embeddings -----------------

#: The fixed small network a cell is placed in to trace and embed it (stem, one one-cell stage, head).
PROBE = {"stem": 8, "channels": 16, "head": 16}


def probe_macro(cell: Cell) -> Macro:
    return Macro((cell,), (Stage(0, PROBE["channels"], 1, 1),), stem=PROBE["stem"], head=PROBE["head"])


def embed_graphs(graphs: Sequence[Graph], ckpt: str | os.PathLike | None = None) -> np.ndarray:
    """L2-normalised embeddings: the training-free WL encoder, or the encoder of a nar checkpoint."""
    if ckpt is None:
        from nar_model.config import EncoderConfig
        from nar_model.encoders import get_encoder

        return get_encoder("wl", EncoderConfig()).embed(list(graphs))
    from nar_model.checkpoint import load_checkpoint

    enc, _ = load_checkpoint(ckpt)
    v = enc.embed(list(graphs))
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def trace_probes(cells: Sequence[Cell], log: Callable[[str], None] | None = None, every_s: float = 10.0) -> list[Graph]:
    """The probe network of each cell, traced on meta; ``log`` gets a progress line every ``every_s`` seconds
    and one at the end (hundreds of cells take a while)."""
    graphs, last = [], time.perf_counter()
    for i, cell in enumerate(cells, 1):
        graphs.append(trace_macro(probe_macro(cell)))
        if log and (i == len(cells) or time.perf_counter() - last >= every_s):
            log(f"traced {i}/{len(cells)} probe networks")
            last = time.perf_counter()
    return graphs


def embed_cells(cells: Sequence[Cell], ckpt: str | os.PathLike | None = None,
                log: Callable[[str], None] | None = None) -> np.ndarray:
    """Embedding of each cell's probe network (traced on meta)."""
    return embed_graphs(trace_probes(cells, log), ckpt)


@dataclass
class CellGenerator:
    """A trained G-VAE with two latent flows: one conditioned on the PCA of the retrieval embedding, one on
    the cell family (k-means cluster of those PCA vectors)."""

    vae: GVAE
    flow_embed: LatentFlow
    flow_family: LatentFlow
    pca: PCA
    centres: np.ndarray
    train_hashes: set[str]
    stats: dict[str, Any] = field(default_factory=dict)
    #: The embedded training cells' latents (N, latent) and PCA conditions (N, dims): the conditional prior.
    cond_latents: np.ndarray | None = None
    cond_vectors: np.ndarray | None = None
    prior_k: int = 10
    prior_t0: float = 0.5
    #: What `generate_near` samples with unless told otherwise (classifier-free guidance weight, and the
    #: temperature of the flow's starting noise); chosen on held-out queries (docs/generation.md).
    near_guidance: float = 1.0
    near_temperature: float = 1.0

    def prior_starts(self, c: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` starting latents for condition ``c`` (PCA space): embedded training cells drawn with an
        adaptive kernel on their conditions, ``exp(-(d - d_min) / (d_k - d_min))`` over squared distances
        ``d`` (``d_k``: the ``prior_k``-th nearest; relative to the nearest, because in 32 whitened dims all
        squared distances are large and close to each other), a Nadaraya-Watson estimate of p(z | c) that
        the flow then transports."""
        d = ((self.cond_vectors - c[None]) ** 2).sum(1)
        k = min(self.prior_k, len(d))
        h = max(float(np.partition(d, k - 1)[k - 1] - d.min()), 1e-12)
        w = np.exp(-(d - d.min()) / h)
        return self.cond_latents[rng.choice(len(d), size=n, p=w / w.sum())]

    def sample(self, n: int, condition: np.ndarray | None = None, family: int | None = None,
               guidance: float = 2.0, seed: int = 0, family_by: str = "onehot",
               prior: str = "noise", temperature: float = 1.0) -> tuple[list[Cell], list[Cell]]:
        """``n`` cells as decoded (before repair) and after repair. ``condition``: an embedding (its PCA is
        taken); ``family``: a cluster index, conditioned through the family flow's one-hot
        (``family_by="onehot"``, the paper's form) or through the embedding flow at the family's centre
        (``"centre"``: it learns from the same PCA vectors, with no one-hot bottleneck); neither =
        unconditional. ``prior`` (with ``condition``): ``"noise"`` integrates the flow from pure noise at
        time 0; ``"neighbours"`` starts it at time `prior_t0` from the conditional prior `prior_starts`
        (measured worse on held-out queries: docs/generation.md). ``temperature`` scales the flow's starting
        noise (`LatentFlow.sample`) of conditional samples; unconditional ones always start at 1."""
        gen = torch.Generator().manual_seed(seed)
        if condition is not None and family is None and prior == "neighbours" and self.cond_latents is not None:
            c = self.pca(condition)[0]
            starts = torch.from_numpy(self.prior_starts(c, n, np.random.default_rng(seed)))
            z = self.flow_embed.sample(n, torch.from_numpy(c), guidance, generator=gen, start=starts, t0=self.prior_t0)
            return self.vae.decode_cells(z, fix=False), self.vae.decode_cells(z, fix=True)
        if family is not None and family_by == "centre":
            z = self.flow_embed.sample(n, torch.from_numpy(np.asarray(self.centres[family], dtype=np.float32)),
                                       guidance, generator=gen)
        elif family is not None:
            c = torch.zeros(len(self.centres))
            c[family] = 1.0
            z = self.flow_family.sample(n, c, guidance, generator=gen)
        elif condition is not None:
            z = self.flow_embed.sample(n, torch.from_numpy(self.pca(condition)[0]), guidance, generator=gen,
                                       temperature=temperature)
        else:
            z = self.flow_embed.sample(n, None, generator=gen)
        return self.vae.decode_cells(z, fix=False), self.vae.decode_cells(z, fix=True)

    def family_of(self, embeddings: np.ndarray) -> np.ndarray:
        return assign(self.pca(embeddings), self.centres)

    def save(self, path: str | os.PathLike) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"vae": self.vae.state_dict(), "vae_config": asdict(self.vae.config),
                    "flow_embed": self.flow_embed.state_dict(), "flow_family": self.flow_family.state_dict(),
                    "flow_config": asdict(self.flow_embed.config), "cond_dim": self.flow_embed.cond_dim,
                    "flow_family_config": asdict(self.flow_family.config),
                    "near_guidance": self.near_guidance, "near_temperature": self.near_temperature,
                    "pca": self.pca.state(), "centres": self.centres, "train_hashes": sorted(self.train_hashes),
                    "stats": self.stats, "cond_latents": self.cond_latents, "cond_vectors": self.cond_vectors,
                    "prior_k": self.prior_k, "prior_t0": self.prior_t0}, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CellGenerator":
        if not Path(path).is_file():
            raise FileNotFoundError(f"No cell generator at {path}: train one with `nar generate --train {path}`")
        s = torch.load(path, weights_only=False)
        vae = GVAE(VAEConfig(**s["vae_config"]))
        vae.load_state_dict(s["vae"])
        fc = FlowConfig(**s["flow_config"])
        ffc = FlowConfig(**s.get("flow_family_config", s["flow_config"]))
        fe, ff = LatentFlow(vae.config.latent, s["cond_dim"], fc), LatentFlow(vae.config.latent, len(s["centres"]), ffc)
        fe.load_state_dict(s["flow_embed"])
        ff.load_state_dict(s["flow_family"])
        return cls(vae.eval(), fe.eval(), ff.eval(), PCA(**s["pca"]), s["centres"], set(s["train_hashes"]),
                   s["stats"], s.get("cond_latents"), s.get("cond_vectors"), s.get("prior_k", 10),
                   s.get("prior_t0", 0.5), s.get("near_guidance", 1.0), s.get("near_temperature", 1.0))


def read_embed_cache(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """cell hash -> embedding from an ``.npz`` cache: one matrix ``_emb`` with its ``_hashes`` (written by
    `write_embed_cache`), or the older form with one array per hash."""
    f = np.load(path)
    if "_hashes" in f.files:
        return dict(zip(f["_hashes"].tolist(), f["_emb"]))
    return {k: f[k] for k in f.files}


def write_embed_cache(path: str | os.PathLike, cache: dict[str, np.ndarray]) -> None:
    np.savez(path, _hashes=np.array(list(cache)), _emb=np.stack(list(cache.values())))


def train_generator(n_cells: int = 20000, n_cond: int = 8000, families: int = 8, pca_dims: int = 32,
                    seed: int = 0, vae_config: VAEConfig = VAEConfig(cond_weight=1.0),
                    flow_config: FlowConfig = FlowConfig(hidden=512, epochs=80),
                    family_flow_config: FlowConfig = FlowConfig(),
                    ckpt: str | os.PathLike | None = None, log: Callable[[str], None] | None = None,
                    embed_cache: str | os.PathLike | None = None, prior_k: int = 10,
                    prior_t0: float = 0.5, near_guidance: float = 2.0, near_temperature: float = 0.9,
                    pca_whiten: bool = False) -> CellGenerator:
    """Sample ``n_cells`` cells, embed ``n_cond`` of them (probe network, traced), fit the PCA and the
    k-means families, fit the G-VAE (with ``vae_config.cond_weight > 0`` its latent is shaped by the PCA
    conditions, `VAEConfig`), then the two latent flows (embedding: ``flow_config``; family:
    ``family_flow_config``). ``embed_cache``: a ``.npz`` of those embeddings keyed by cell hash
    (`read_embed_cache`), read if present and written after embedding (tracing is the slow part).
    ``near_guidance`` / ``near_temperature``: what `generate_near` samples with unless told otherwise.
    ``pca_whiten``: scale each PCA axis to unit variance (else one scale for all, `PCA.fit`).

    The defaults are the fifth round's measured setting (docs/generation.md, issue 13): 8 000 embedded cells,
    a not-whitened PCA-32 condition, a G-VAE latent shaped by it (weight 1), a 512-wide flow trained 80
    epochs, queries sampled at guidance 2 and temperature 0.9: 30 of 30 held-out queries over the p90 bar."""
    say = log or (lambda _m: None)
    t0 = time.perf_counter()
    cells = sample_cells(n_cells, seed)
    say(f"sampled {len(cells)} cells in {time.perf_counter() - t0:.1f}s")
    t1 = time.perf_counter()
    cond_cells = cells[:n_cond]
    hashes = [cell_hash(c) for c in cond_cells]
    cache = Path(embed_cache) if embed_cache else None
    known_emb = read_embed_cache(cache) if cache and cache.is_file() else {}
    if all(h in known_emb for h in hashes):
        emb = np.stack([known_emb[h] for h in hashes])
    else:
        emb = embed_cells(cond_cells, ckpt, log)
        if cache:
            known_emb.update(zip(hashes, emb))
            write_embed_cache(cache, known_emb)
    say(f"traced and embedded {len(cond_cells)} probe networks in {time.perf_counter() - t1:.1f}s")
    pca = PCA.fit(emb, pca_dims, whiten=pca_whiten)
    cond = pca(emb)
    centres, labels = kmeans(cond, families, seed)
    known = torch.zeros(len(cells))
    known[:n_cond] = 1.0
    full = torch.zeros(len(cells), cond.shape[1])
    full[:n_cond] = torch.from_numpy(cond)
    shaped = vae_config.cond_weight > 0
    vae = fit_vae(cells, replace(vae_config, seed=seed, cond_dim=cond.shape[1] if shaped else 0),
                  log=lambda e, s: say(f"vae epoch {e}: rec {s['rec']:.3f} kl {s['kl']:.2f}"
                                       + (f" cond {s['cond']:.2f}" if "cond" in s else "")),
                  cond=full if shaped else None, known=known)
    # The flows train on every cell (the unconditional field) and on the embedded ones' conditions.
    z = vae.embed_cells(cells)
    flow_embed = fit_flow(z, full, replace(flow_config, seed=seed), known=known,
                          log=lambda e, s: say(f"flow(embedding) epoch {e}: {s['fm']:.4f}") if e % 10 == 0 else None)
    onehot = torch.zeros(len(cells), families)
    onehot[:n_cond] = torch.nn.functional.one_hot(torch.from_numpy(labels), families).float()
    flow_family = fit_flow(z, onehot, replace(family_flow_config, seed=seed), known=known,
                           log=lambda e, s: say(f"flow(family) epoch {e}: {s['fm']:.4f}") if e % 10 == 0 else None)
    stats = {"n_cells": n_cells, "n_cond": n_cond, "families": families, "pca_dims": pca_dims, "seed": seed,
             "family_sizes": np.bincount(labels, minlength=families).tolist(), "embedder": str(ckpt or "wl"),
             "train_s": time.perf_counter() - t0}
    return CellGenerator(vae, flow_embed, flow_family, pca, centres, {cell_hash(c) for c in cells}, stats,
                         z[:n_cond].numpy(), cond.astype(np.float32), prior_k, prior_t0, near_guidance,
                         near_temperature)


def runs_forward(cell: Cell, input_size: int = 32) -> bool:
    """Whether ``cell``'s probe network runs a 1 x 3 x input_size x input_size batch to finite logits."""
    try:
        with torch.no_grad():
            out = build_network(probe_macro(cell)).eval()(torch.randn(1, 3, input_size, input_size))
        return bool(torch.isfinite(out).all()) and out.shape == (1, 10)
    except Exception:  # noqa: BLE001 - any failure means "does not run"
        return False


def generate_near(query: Graph, generator: CellGenerator, k: int = 10, n: int = 100, guidance: float | None = None,
                  ckpt: str | os.PathLike | None = None, seed: int = 0,
                  log: Callable[[str], None] | None = None, temperature: float | None = None) -> list[dict[str, Any]]:
    """Sample ``n`` cells conditioned on ``query``'s embedding, repair, build, trace and embed their probe
    networks, and return the ``k`` closest to the query (cosine), each checked to run forward.
    ``guidance`` / ``temperature``: default the generator's `near_guidance` / `near_temperature`."""
    q = embed_graphs([query], ckpt)
    guidance = generator.near_guidance if guidance is None else guidance
    temperature = generator.near_temperature if temperature is None else temperature
    _, cells = generator.sample(n, condition=q, guidance=guidance, seed=seed, temperature=temperature)
    unique = list({cell_hash(c): c for c in cells if is_valid(c)}.values())
    graphs = trace_probes(unique, log)
    scores = embed_graphs(graphs, ckpt) @ q[0]
    order = np.argsort(-scores, kind="stable")[:k]
    out = []
    for rank, i in enumerate(order, 1):
        c, g = unique[i], graphs[i]
        out.append({"rank": rank, "cosine": float(scores[i]), "model_id": g.model_id, "arch_id": g.arch_id,
                    "cell": c.describe(), "new": cell_hash(c) not in generator.train_hashes,
                    "num_params": g.num_params, "flops": g.flops, "runs_forward": runs_forward(c),
                    "macro": macro_to_dict(probe_macro(c))})
    return out


# -- the budgeted search: two-phase regularised evolution with ZC fitness -------------------------------

def _parse_count(text: str | int | None) -> int | None:
    """``"1M"`` -> 1_000_000, ``"200M"``, ``"3.5G"``, ``"800k"``, plain integers; None stays None."""
    if text is None or isinstance(text, int):
        return text
    t = str(text).strip().upper()
    mult = {"K": 10**3, "M": 10**6, "G": 10**9}
    try:
        return int(float(t[:-1]) * mult[t[-1]]) if t[-1] in mult else int(float(t))
    except (ValueError, IndexError):
        raise ValueError(f"Cannot read the count {text!r}: use a number with an optional k/M/G suffix, e.g. 1M")


def budget_search(generator: CellGenerator, budget_params: str | int | None = "1M",
                  budget_flops: str | int | None = "200M", evaluations: int = 60, input_size: int = 32,
                  num_classes: int = 10, seed: int = 0, top: int = 5, macro_model: Any = None,
                  log: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Two-phase regularised evolution under a parameter / FLOPs budget, fitness = ZC score at init.

    Phase 1 explores cell families (fitness: the ZC score of a network with a cell sampled from the family),
    phase 2 exploits concrete networks (cell from a good family, skeleton mutated in channels, strides and
    repeats). A network over budget scores ``-inf``. Fitness = NASWOT (data-free, Gaussian inputs; the
    recipe is returned with each network). ``macro_model`` (a trained
    `nar_model.generate.macro_model.MacroTransformer`) proposes the skeletons, prompted with the task and the
    budget; without it they are drawn at random.
    """
    from nar_model.generate.cost import macro_cost
    from nar_model.generate.evolution import two_phase_evolution
    from nar_model.generate.skeleton import sample_skeleton
    from nar_model.generate.zc import zc_scores

    max_params, max_flops = _parse_count(budget_params), _parse_count(budget_flops)
    say = log or (lambda _m: None)
    cache: dict[str, dict[str, Any]] = {}
    k = len(generator.centres)

    def cell_from(family: int, rng: np.random.Generator) -> Cell:
        _, cells = generator.sample(4, family=family, seed=int(rng.integers(1 << 30)))
        valid = [c for c in cells if is_valid(c)]
        return valid[0] if valid else sample_cells(1, int(rng.integers(1 << 30)))[0]

    def over(macro: Macro) -> bool:
        params, flops = macro_cost(macro, input_size)
        return bool((max_params and params > max_params) or (max_flops and flops > max_flops))

    def new_skeleton(rng: np.random.Generator, cell: Cell) -> tuple[Stage, ...]:
        """A skeleton that fits the budget with ``cell`` (narrower after each miss; the cheap check saves ZC
        evaluations)."""
        width = 128
        for _ in range(12):
            if macro_model is not None:
                from nar_model.generate.macro_model import prompt_vector

                prompt = prompt_vector(num_classes, input_size, max_params or 1e9, max_flops or 1e12, cell)
                g = torch.Generator().manual_seed(int(rng.integers(1 << 30)))
                stages = tuple(macro_model.sample(prompt, 1, generator=g)[0])
            else:
                stages = tuple(sample_skeleton(rng, 1, max_stages=3, max_repeats=2, max_channels=width))
            if not over(net(cell, stages)):
                return stages
            width = max(8, width // 2 if rng.random() < 0.5 else width)
        return (Stage(0, 8, 1, 1),)

    def score(macro: Macro) -> float:
        h = macro_hash(macro)
        if h not in cache:
            params, flops = macro_cost(macro, input_size)
            entry: dict[str, Any] = {"macro": macro, "params": params, "flops": flops}
            if (max_params and params > max_params) or (max_flops and flops > max_flops):
                entry["fitness"] = float("-inf")
            else:
                zc = zc_scores(build_network(macro), ("naswot",), batch=8, shape=(3, input_size, input_size),
                               classes=num_classes, seed=seed)
                entry.update(fitness=zc["naswot"], zc=zc)
            cache[h] = entry
            say(f"evaluated {len(cache)}: params {params} flops {flops} fitness {entry['fitness']:.2f}")
        return cache[h]["fitness"]

    def net(cell: Cell, stages: tuple[Stage, ...]) -> Macro:
        return Macro((cell,), stages, stem=16, head=64, num_classes=num_classes)

    def fam_fitness(f: int) -> float:
        rng = np.random.default_rng(seed + f)
        cell = cell_from(f, rng)
        return score(net(cell, new_skeleton(rng, cell)))

    def exploit_init(best: list[int], rng: np.random.Generator) -> Macro:
        cell = cell_from(int(rng.choice(best)), rng)
        return net(cell, new_skeleton(rng, cell))

    def exploit_mutate(m: Macro, rng: np.random.Generator) -> Macro:
        if rng.random() < 0.5:
            return net(cell_from(int(rng.integers(k)), rng), m.stages)
        stages = list(m.stages)
        i = int(rng.integers(len(stages)))
        s = stages[i]
        ch = int(np.clip(s.channels + 8 * int(rng.choice([-2, -1, 1, 2])), 8, 1024))
        stages[i] = Stage(0, ch, s.stride, max(1, min(3, s.repeats + int(rng.choice([-1, 0, 1])))))
        return net(m.cells[0], tuple(stages))

    two_phase_evolution(lambda rng: int(rng.integers(k)), lambda f, rng: int(rng.integers(k)), fam_fitness,
                        exploit_init, exploit_mutate, score, evaluations, population=8, sample=3, seed=seed)
    ranked = sorted((e for e in cache.values() if np.isfinite(e["fitness"])), key=lambda e: -e["fitness"])[:top]
    return [{"rank": i + 1, "model_id": f"hgnas:{macro_hash(e['macro'])}", "naswot": e["fitness"],
             "params": e["params"], "flops": e["flops"], "runs_forward": runs_forward_macro(e["macro"], input_size),
             "stages": [[s.channels, s.stride, s.repeats] for s in e["macro"].stages],
             "cell": e["macro"].cells[0].describe(), "zc_recipe": e["zc"]["recipe"],
             "evaluated": len(cache)} for i, e in enumerate(ranked)]


def runs_forward_macro(macro: Macro, input_size: int = 32) -> bool:
    try:
        with torch.no_grad():
            out = build_network(macro).eval()(torch.randn(1, macro.in_channels, input_size, input_size))
        return bool(torch.isfinite(out).all())
    except Exception:  # noqa: BLE001 - any failure means "does not run"
        return False


def generate(near: str | None = None, data: str | os.PathLike | None = None, k: int = 10, n: int = 100,
             generator_path: str | os.PathLike = "data/_checkpoints/hgnas.pt", train: bool = False,
             train_cells: int = 20000, train_cond: int = 8000, budget_params: str | None = None,
             budget_flops: str | None = None, evaluations: int = 60, seed: int = 0,
             macro_path: str | os.PathLike | None = None, macro_pairs: int = 10000,
             log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """What ``nar generate`` does: train (or load) the cell generator, then either generate ``k`` candidates
    near the query ``near`` or run the budgeted search. ``macro_path``: the budgeted search takes its
    skeletons from the macro transformer there (trained on ``macro_pairs`` pairs and written when absent)
    instead of drawing them at random.

    Raises:
        ValueError: neither ``near`` nor a budget was given, or the query cannot be resolved.
    """
    if near is None and budget_params is None and budget_flops is None and not train:
        raise ValueError("Say what to generate: --near QUERY, or --budget-params/--budget-flops, or --train")
    path = Path(generator_path)
    if train or not path.is_file():
        if log:
            log(f"training the cell generator ({train_cells} cells, {train_cond} embedded) -> {path}")
        gen = train_generator(train_cells, train_cond, seed=seed, log=log)
        gen.save(path)
    else:
        gen = CellGenerator.load(path)
    out: dict[str, Any] = {"generator": str(path), "generator_stats": gen.stats}
    if near is not None:
        query = _resolve(near, data)
        start = time.perf_counter()
        out["near"] = {"query": near, "query_model_id": query.model_id, "n": n,
                       "candidates": generate_near(query, gen, k=k, n=n, seed=seed, log=log)}
        out["near"]["seconds"] = time.perf_counter() - start
    if budget_params is not None or budget_flops is not None:
        macro_model = None
        if macro_path is not None:
            from nar_model.generate.macro_model import load_macro_model, save_macro_model, train_macro_model

            if Path(macro_path).is_file():
                macro_model = load_macro_model(macro_path)
            else:
                if log:
                    log(f"training the macro transformer ({macro_pairs} pairs) -> {macro_path}")
                macro_model = train_macro_model(macro_pairs, seed)
                save_macro_model(macro_model, macro_path)
        start = time.perf_counter()
        out["search"] = {"budget_params": budget_params, "budget_flops": budget_flops,
                         "skeletons": str(macro_path) if macro_path is not None else "random",
                         "best": budget_search(gen, budget_params, budget_flops, evaluations, seed=seed,
                                               macro_model=macro_model, log=log)}
        out["search"]["seconds"] = time.perf_counter() - start
    return out


def _resolve(query: str, data: str | os.PathLike | None) -> Graph:
    """Any query form `nar.query` accepts (an arch_id/model_id of ``data``, ``source:name``, a config)."""
    from nar.dataset import DatasetView
    from nar.query import QueryContext, resolve

    ctx = QueryContext(view=DatasetView(data) if data is not None else None)
    return resolve(query, ctx).graph(ctx)
