"""A learned stage on the stored 512-dim `nar` vector, as a diagnostic (not a bench row): ``h = z + z A B`` (rank R,
started at zero), trained per fold on the TRAINING folds' labelled graphs only (supervised contrastive loss over
families, so width/depth variants and twins are positives; the same loss over the coarse kind at 3x temperature and
half weight, so other families of the same kind are the hard negatives; a uniformity term; an L2 pull of ``A B`` to
zero), evaluated on the held-out fold's queries against the whole database (3 folds, seed 0, the bench's splits).
Reads the vectors `bench/twin_diagnostic.py` cached for VARIANT (label-free fit on every graph = the transductive
bench's). Prints the map's figures beside no map, with paired bootstrap CIs of the difference.

    python bench/twin_diagnostic.py data/all-full c3 token_canon_level=3
    python bench/learned_map_diagnostic.py RANK EPOCHS REG UNIFORMITY [VARIANT=c3]
"""
import sys, pickle, numpy as np, torch
from nar_model.metrics import graded_scores, twin_ranks, bootstrap_ci
from nar_model.losses import supervised_contrastive
from nar_model.splits import UNKNOWN
torch.set_num_threads(1)
gs, proto = pickle.load(open('data/diag/proto-all-full.pkl', 'rb'))
emb = np.load(f"data/diag/emb-all-full-{sys.argv[5] if len(sys.argv) > 5 else 'c3'}.npy").astype(np.float32)
fam = np.asarray(proto.relevance.family); crs = np.asarray([g.coarse for g in gs.graphs])
rank, epochs, reg, unif = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
def run(train_map):
    per, tw = {}, []
    for train, test in proto.splits(3, 0):
        e = emb
        if train_map:
            tr = np.asarray([i for i in train if fam[i] != UNKNOWN])
            _, fi = np.unique(fam[tr], return_inverse=True); _, ci = np.unique(crs[tr], return_inverse=True)
            torch.manual_seed(0)
            A = torch.zeros(512, rank, requires_grad=True); B = (torch.randn(rank, 512) * 0.01).requires_grad_()
            opt = torch.optim.Adam([A, B], lr=1e-2)
            x = torch.from_numpy(emb[tr]); f = torch.from_numpy(fi); c = torch.from_numpy(ci)
            rng = np.random.default_rng(0)
            for ep in range(epochs):
                for b in np.array_split(rng.permutation(len(tr)), max(1, len(tr) // 512)):
                    h = x[b] + x[b] @ A @ B
                    h = torch.nn.functional.normalize(h, dim=1)
                    loss = supervised_contrastive(h, f[b], 0.1) + 0.5 * supervised_contrastive(h, c[b], 0.3)
                    loss = loss + unif * torch.log(torch.exp(-2 * torch.cdist(h, h) ** 2).mean())
                    loss = loss + reg * ((A @ B) ** 2).sum()
                    opt.zero_grad(); loss.backward(); opt.step()
            with torch.no_grad():
                e = (torch.from_numpy(emb) + torch.from_numpy(emb) @ A @ B).numpy()
        qs = [int(i) for i in test if fam[int(i)] != UNKNOWN]
        sc = graded_scores(e, proto.grades, proto.groups, qs, (20,))
        for n, q in enumerate(sc['query']): per[int(q)] = (sc['map@20'][n], sc['ndcg@20'][n])
        tw += list(twin_ranks(e, proto.twins, proto.groups, qs)[1])
    qs = sorted(per); return np.array([per[q] for q in qs]), np.asarray(tw)
b, tb = run(False); m, tm = run(True)
dm, dn = bootstrap_ci(m[:, 0] - b[:, 0]), bootstrap_ci(m[:, 1] - b[:, 1])
print(f'rank {rank} ep {epochs} reg {reg} unif {unif}: none MAP {b[:,0].mean():.4f} NDCG {b[:,1].mean():.4f} hit5 {int((tb<=5).sum())}/{len(tb)} | '
      f'map MAP {m[:,0].mean():.4f} NDCG {m[:,1].mean():.4f} hit5 {int((tm<=5).sum())}/{len(tm)} | dMAP {dm[1]:+.4f} [{dm[0]:+.4f},{dm[2]:+.4f}] dNDCG {dn[1]:+.4f} [{dn[0]:+.4f},{dn[2]:+.4f}]', flush=True)
