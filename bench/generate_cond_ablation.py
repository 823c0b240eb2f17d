"""Conditioning ablations of the third round (docs/generation.md): cached G-VAE and embeddings, one
latent flow per setting, 30 held-out queries scored against the p90 of 500 held-out training-distribution
cells (a cheaper reference than the generator's 1 000 unconditional samples; the acceptance run is
`generate_bench.py --sections generator`). Every raw conditional sample counts.

    PYTHONPATH=. .venv/bin/python bench/generate_cond_ablation.py prep 3000        # VAE + embeddings (cached in data/)
    PYTHONPATH=. .venv/bin/python bench/generate_cond_ablation.py flow --n 1500 --pca 16 --knn --w 1,3
    PYTHONPATH=. .venv/bin/python bench/generate_cond_ablation.py flow --n 3000 --pca 32 --w 1
    PYTHONPATH=. .venv/bin/python bench/generate_cond_ablation.py flow --n 3000 --pca 32 --w 0.5:1,0.7:1  # t0:w, neighbours prior
    PYTHONPATH=. .venv/bin/python bench/generate_cond_ablation.py flow --n 3000 --pseudo --w 1             # pseudo-labels

``--knn`` also prints the oracle "10 embedded training cells nearest the query in PCA space".
"""
import sys, time, json, os
from pathlib import Path
import numpy as np, torch
torch.set_num_threads(1)
from nar.generate import embed_cells, read_embed_cache, write_embed_cache
from nar_model.generate.cell import cell_hash, sample_cells, is_valid
from nar_model.generate.vae import fit_vae, VAEConfig, reconstruction_accuracy, GVAE
from nar_model.generate.flow import fit_flow, FlowConfig
from nar_model.generate.descriptors import PCA

D = Path("data")
CACHE = D / "emb-cache.npz"

def load_cache():
    return read_embed_cache(CACHE) if CACHE.is_file() else {}

def save_cache(cache):
    write_embed_cache(CACHE, cache)

def embed_cached(cells, cache, save=True):
    hs = [cell_hash(c) for c in cells]
    todo = [c for c, h in zip(cells, hs) if h not in cache]
    todo = list({cell_hash(c): c for c in todo}.values())
    for j in range(0, len(todo), 300):
        chunk = todo[j:j + 300]
        t = time.perf_counter()
        e = embed_cells(chunk)
        for c, v in zip(chunk, e):
            cache[cell_hash(c)] = v
        print(f"embedded {len(chunk)} in {time.perf_counter()-t:.1f}s ({(time.perf_counter()-t)/len(chunk):.3f}s/cell, load {os.getloadavg()[0]:.1f})", flush=True)
        if save:
            save_cache(cache)
    return np.stack([cache[h] for h in hs])

def get_vae(cells):
    p = D / "vae.pt"
    if p.is_file():
        s = torch.load(p, weights_only=False)
        v = GVAE(VAEConfig(**s["cfg"])); v.load_state_dict(s["sd"]); return v.eval()
    t = time.perf_counter()
    v = fit_vae(cells, VAEConfig(), log=lambda e, s: print("vae", e, s, flush=True))
    print(f"vae {time.perf_counter()-t:.0f}s", flush=True)
    from dataclasses import asdict
    torch.save({"cfg": asdict(v.config), "sd": v.state_dict()}, p)
    return v

if __name__ == "__main__":
    stage = sys.argv[1]
    cells = sample_cells(20000, 0)
    train_h = {cell_hash(c) for c in cells}
    held = [c for c in sample_cells(1200, 1000) if cell_hash(c) not in train_h][:1000]
    cache = load_cache()
    if stage == "time":
        embed_cached(held[:20], cache, save=False)
    if stage == "prep":
        n = int(sys.argv[2])
        vae = get_vae(cells)
        embed_cached(held[:30], cache)            # queries
        embed_cached(held[100:600], cache)        # reference (training-distribution cells, held out)
        embed_cached(cells[:n], cache)            # conditioning cells

def regressor(z, y, epochs=200, hidden=256, seed=0, wd=1e-4):
    torch.manual_seed(seed)
    zm, zs = z.mean(0), z.std(0).clamp_min(1e-3)
    net = torch.nn.Sequential(torch.nn.Linear(z.shape[1], hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, hidden),
                              torch.nn.SiLU(), torch.nn.Linear(hidden, y.shape[1]))
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=wd)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    n = len(z)
    for e in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, 128):
            idx = perm[i:i+128]
            loss = (net((z[idx]-zm)/zs) - y[idx]).pow(2).mean()
            opt.zero_grad(); loss.backward(); opt.step()
        sched.step()
    net.eval()
    return lambda x: net((x - zm) / zs)

@torch.no_grad()
def sample_from(flow, zt, t0, c, w, steps=20):
    from torchdiffeq import odeint
    n = len(zt)
    cond, on, off = c.float().expand(n, flow.cond_dim), torch.ones(n, 1), torch.zeros(n, 1)
    def field(t, z):
        tt = t.reshape(1, 1)
        v_un = flow.velocity(z, tt, cond, off)
        return v_un + w * (flow.velocity(z, tt, cond, on) - v_un)
    grid = torch.linspace(t0, 1.0, max(2, int(round(steps * (1 - t0)))) + 1)
    return odeint(field, zt, grid, method="rk4")[-1] * flow.std + flow.mean

def run_flow(args):
    import argparse
    from nar_model.metrics import bootstrap_ci
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--pca", type=int, default=16)
    ap.add_argument("--no-whiten", action="store_true", help="PCA axes keep their relative variances")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--pseudo", action="store_true")
    ap.add_argument("--drop", type=float, default=0.2)
    ap.add_argument("--w", default="1,2,3")
    ap.add_argument("--temp", default="1", help="starting-noise temperatures, comma-separated (grid with --w)")
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--per", type=int, default=10)
    ap.add_argument("--knn", action="store_true")
    ap.add_argument("--knn-only", action="store_true")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--t0", default="0")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--reg-epochs", type=int, default=200)
    ap.add_argument("--diag", action="store_true", help="per-query diagnostics of the misses")
    ap.add_argument("--out", type=Path, default=None, help="append one JSON line per setting here")
    ap.add_argument("--shape", type=float, default=0.0,
                    help="latent shaping: a G-VAE trained with a linear head reading the PCA condition off the latent (weight)")
    ap.add_argument("--vae-epochs", type=int, default=10)
    a = ap.parse_args(args)
    cells = sample_cells(20000, 0)
    train_h = {cell_hash(c) for c in cells}
    held = [c for c in sample_cells(1200, 1000) if cell_hash(c) not in train_h][:1000]
    cache = load_cache()
    emb = embed_cached(cells[:a.n], cache)
    qe = embed_cached(held[:a.queries], cache)
    ref = embed_cached(held[100:600], cache)
    p90 = np.percentile(ref @ qe.T, 90, axis=0)
    pca = PCA.fit(emb, a.pca, whiten=not a.no_whiten)
    cond = pca(emb)
    if a.shape > 0:
        vkey = D / f"vae-shaped-n{a.n}-p{a.pca}{'-nw' if a.no_whiten else ''}-w{a.shape}-e{a.vae_epochs}.pt"
        if vkey.is_file():
            s_ = torch.load(vkey, weights_only=False)
            vae = GVAE(VAEConfig(**s_["cfg"])); vae.load_state_dict(s_["sd"]); vae.eval()
        else:
            t = time.perf_counter()
            kn = torch.zeros(len(cells)); kn[:a.n] = 1
            cc = torch.zeros(len(cells), cond.shape[1]); cc[:a.n] = torch.from_numpy(cond)
            vae = fit_vae(cells, VAEConfig(cond_dim=cond.shape[1], cond_weight=a.shape, epochs=a.vae_epochs), cond=cc, known=kn,
                          log=lambda e, s_: print("vae", e, s_, flush=True))
            print(f"shaped vae {time.perf_counter()-t:.0f}s (load {os.getloadavg()[0]:.1f})", flush=True)
            from dataclasses import asdict
            torch.save({"cfg": asdict(vae.config), "sd": vae.state_dict()}, vkey)
        with torch.no_grad():
            pr = vae.cond_head(vae.embed_cells(held[100:600])).numpy()
        tgt = pca(ref)
        print(f"shaped vae: condition R2 on 500 held-out cells {1 - ((pr - tgt) ** 2).sum() / ((tgt - tgt.mean(0)) ** 2).sum():.3f}; "
              f"held-out reconstruction {reconstruction_accuracy(vae, held)}", flush=True)
    else:
        vae = get_vae(cells)
    z = vae.embed_cells(cells)
    var = (((emb - pca.mean) @ pca.axes.T) ** 2).sum(0) / max(len(emb) - 1, 1)
    print(f"pca {a.pca}{' (not whitened)' if a.no_whiten else ''}: explained {float(var.sum() / ((emb-emb.mean(0))**2).sum(1).mean()):.3f}")
    qc = pca(qe)
    if a.knn:
        d = ((qc[:, None] - cond[None]) ** 2).sum(-1)
        nn_ = np.argsort(d, 1)[:, :a.per]
        med = np.array([np.median(emb[nn_[i]] @ qe[i]) for i in range(len(qe))])
        print(f"kNN-{a.per} in PCA space: meet {int((med >= p90).sum())}/{len(qe)} mean {med.mean():.3f} vs p90 {p90.mean():.3f}; margin min {float((med-p90).min()):.3f}")
        true = np.sort(emb @ qe.T, 0)[::-1][:a.per]
        medt = np.median(true, 0)
        print(f"kNN-{a.per} by true cosine: meet {int((medt >= p90).sum())}/{len(qe)} margin min {float((medt-p90).min()):.3f}")
        best = (emb @ qe.T).max(0)
        print(f"nearest conditioning cell cos mean {best.mean():.3f}")
        if a.knn_only:
            return
    known = torch.zeros(len(cells)); known[:a.n] = 1
    full = torch.zeros(len(cells), cond.shape[1]); full[:a.n] = torch.from_numpy(cond)
    if a.pseudo:
        t = time.perf_counter()
        # hold out 15 % to measure the regressor, then refit on all
        m = int(a.n * 0.85)
        f = regressor(z[:m], full[:m], a.reg_epochs)
        with torch.no_grad():
            pr = f(z[m:a.n]).numpy()
        tgt = cond[m:]
        r2 = 1 - ((pr - tgt) ** 2).sum() / ((tgt - tgt.mean(0)) ** 2).sum()
        print(f"regressor R2 on held 15%: {r2:.3f} ({time.perf_counter()-t:.0f}s)", flush=True)
        f = regressor(z[:a.n], full[:a.n], a.reg_epochs)
        with torch.no_grad():
            full[a.n:] = f(z[a.n:])
        known[:] = 1
    t = time.perf_counter()
    key = D / (f"flow-n{a.n}-p{a.pca}{'-nw' if a.no_whiten else ''}-e{a.epochs}-d{a.drop}-h{a.hidden}"
               f"{'-pseudo' if a.pseudo else ''}{f'-shape{a.shape}' if a.shape else ''}.pt")
    from nar_model.generate.flow import LatentFlow
    if key.is_file():
        flow = LatentFlow(z.shape[1], cond.shape[1], FlowConfig(epochs=a.epochs, drop=a.drop, hidden=a.hidden))
        flow.load_state_dict(torch.load(key)); flow.eval()
    else:
        flow = fit_flow(z, full, FlowConfig(epochs=a.epochs, drop=a.drop, hidden=a.hidden), known=known)
        torch.save(flow.state_dict(), key)
    print(f"flow {time.perf_counter()-t:.0f}s (load {os.getloadavg()[0]:.1f})", flush=True)
    zc = z[:a.n]
    if ":" in a.w:
        combos = [(float(t0), float(w), 1.0) for t0, w in (x.split(":") for x in a.w.split(","))]
    else:
        combos = [(float(a.t0), float(w), float(tp)) for w in a.w.split(",") for tp in a.temp.split(",")]
    for t0, w, temp in combos:
        meds = []
        allc = []
        t = time.perf_counter()
        for i in range(len(qe)):
            g = torch.Generator().manual_seed(i)
            if t0 > 0:
                d = ((cond - qc[i]) ** 2).sum(1)
                h2 = np.sort(d)[a.k - 1] - d.min()
                wts = np.exp(-(d - d.min()) / max(h2, 1e-9)); wts /= wts.sum()
                idx = np.random.default_rng(i).choice(len(d), a.per, p=wts)
                zs = (zc[idx] - flow.mean) / flow.std
                e0 = torch.randn(a.per, z.shape[1], generator=g)
                zt = (1 - t0) * e0 + t0 * zs
                zz = sample_from(flow, zt, t0, torch.from_numpy(qc[i]), w)
            else:
                zz = flow.sample(a.per, torch.from_numpy(qc[i]), w, generator=g, temperature=temp)
            allc.append((vae.decode_cells(zz, fix=False), vae.decode_cells(zz, fix=True)))
        flat = [c for _, cs in allc for c in cs]
        e = embed_cached(flat, cache)
        for i in range(len(qe)):
            meds.append(np.median(e[i*a.per:(i+1)*a.per] @ qe[i]))
        meds = np.array(meds)
        margin = meds - p90
        lo, mean, hi = bootstrap_ci(margin)
        valid = np.mean([is_valid(c) for c in flat]); new = np.mean([cell_hash(c) not in train_h for c in flat])
        uniq = np.mean([len({cell_hash(c) for c in cs}) / len(cs) for _, cs in allc])
        raw_valid = np.mean([is_valid(c) for cs, _ in allc for c in cs])
        print(f"t0={t0} w={w} temp={temp}: meet {int((margin >= 0).sum())}/{len(qe)}  mean {meds.mean():.3f} vs p90 {p90.mean():.3f}  "
              f"margin mean {mean:+.4f} (95% CI {lo:+.4f} to {hi:+.4f}) min {float(margin.min()):+.3f}  valid {valid:.2f} "
              f"raw-valid {raw_valid:.2f} new {new:.2f} unique/query {uniq:.2f}  ({time.perf_counter()-t:.0f}s, load {os.getloadavg()[0]:.1f})", flush=True)
        if a.out:
            with open(a.out, "a") as fh:
                fh.write(json.dumps({"n": a.n, "pca": a.pca, "shape": a.shape, "whiten": not a.no_whiten, "epochs": a.epochs, "drop": a.drop,
                                     "hidden": a.hidden, "pseudo": a.pseudo, "t0": t0, "w": w, "temp": temp,
                                     "meet": int((margin >= 0).sum()), "queries": len(qe), "margin_ci": [lo, mean, hi],
                                     "margin_min": float(margin.min()), "margins": margin.round(4).tolist(),
                                     "valid": valid, "new": new, "unique_per_query": uniq,
                                     "date": time.strftime("%H:%M UTC", time.gmtime()), "load": os.getloadavg()[0]}) + "\n")
        if a.diag:
            # the misses: how far the query's condition is from the training conditions (out of distribution?),
            # what the PCA-space oracle gets, whether repair changed the samples, and where the samples' own
            # conditions land relative to the query's
            dq = np.sqrt(((qc[:, None] - cond[None]) ** 2).sum(-1))
            nnd = np.sort(dq, 1)[:, 0]
            dc = np.sqrt(((cond[:500, None] - cond[None]) ** 2).sum(-1)); dc[np.arange(500), np.arange(500)] = np.inf
            typical = np.median(dc.min(1))
            ec = pca(e)
            for i in np.argsort(margin)[:6]:
                raw, fixed = allc[i]
                changed = np.mean([cell_hash(r) != cell_hash(f) or not is_valid(r) for r, f in zip(raw, fixed)])
                samp_d = np.sqrt(((ec[i*a.per:(i+1)*a.per] - qc[i]) ** 2).sum(1))
                knn = np.median(emb[np.argsort(dq[i])[:a.per]] @ qe[i])
                rank = float((ref @ qe[i] < meds[i]).mean())
                print(f"  q{i}: margin {margin[i]:+.3f} (median at the {100*rank:.0f}th pct of ref)  p90 {p90[i]:.3f}  "
                      f"nn-dist {nnd[i]:.2f} (train-train median {typical:.2f})  |c| {np.linalg.norm(qc[i]):.2f}  "
                      f"kNN-oracle {knn - p90[i]:+.3f}  repair changed {changed:.1f}  sample-cond dist median {np.median(samp_d):.2f}", flush=True)

if __name__ == "__main__" and sys.argv[1] == "flow":
    run_flow(sys.argv[2:])
