"""Token-channel diagnostic: token counts computed once (motif vocabulary fit on all graphs, no labels), then the
protocol's folds (seed 0) for each spec ``CHANNELS:SHARES:DIM`` (DIM 0 = the histogram itself, else an SVD basis
fit on the train side). Channels: op / motif / size / raw of the canonical view, rop / rmotif of the stored graph.
Paired bootstrap CIs against the first spec. Faster than the bench, not a replacement for it.

    python bench/token_diagnostic.py data/all-partial 3 rop,rmotif:1,1:0 op,motif,size:1,1,1:0 op,motif,size:1,1,1:256
"""
import sys, pickle, time, os
import numpy as np
from nar_model.data import load_graphs
from nar.relevance import catalog_relevance
from nar_model.evaluation import Protocol, compare
from nar_model.tokens import TokenFeaturizer
from nar_model.encoders._base import l2_normalize
from nar_model.encoders.nar import token_basis
from nar_model.metrics import graded_scores, twin_ranks, bootstrap_ci
from nar_model.splits import UNKNOWN
data, folds = sys.argv[1], int(sys.argv[2])
cache = f'data/token-diagnostic-{os.path.basename(data)}.pkl'  # counts cache (data/ is git-ignored)
if os.path.exists(cache):
    gs, proto, C = pickle.load(open(cache, 'rb'))
else:
    t = time.time()
    gs = load_graphs(data); rel = catalog_relevance(gs.graphs); proto = Protocol.build(gs, rel, 0.95)
    C = {}
    f = TokenFeaturizer(canon=True, idf=False, channels=("op", "motif", "size", "raw")).fit(gs.graphs)
    C.update(f.counts(gs.graphs))
    f2 = TokenFeaturizer(canon=False, idf=False, channels=("op", "motif")).fit(gs.graphs)
    c2 = f2.counts(gs.graphs); C['rop'] = c2['op']; C['rmotif'] = c2['motif']
    pickle.dump((gs, proto, C), open(cache, 'wb'))
    print('built', time.time() - t, flush=True)
N = {k: l2_normalize(v) for k, v in C.items()}
splits = proto.splits(folds, 0)
def run(spec):
    chans, shares, dim = spec
    w = np.sqrt(np.asarray(shares) / sum(shares))
    x = np.concatenate([wi * N[c] for c, wi in zip(chans, w)], 1)
    per, tw = {}, {}
    for train, test in splits:
        if dim:
            B = token_basis(x[train], dim)
            e = l2_normalize(x @ B)
        else:
            e = x
        qs = [int(i) for i in test if proto.relevance.family[int(i)] != UNKNOWN]
        sc = graded_scores(e, proto.grades, proto.groups, qs, (20,))
        for n, q in enumerate(sc['query']):
            per[int(q)] = (sc['map@20'][n], sc['ndcg@20'][n])
        tq, tr = twin_ranks(e, proto.twins, proto.groups, qs)
        for q, r in zip(tq, tr): tw.setdefault(int(q), []).append(r)
    qs = sorted(per); m = np.array([per[q] for q in qs])
    ranks = np.concatenate([np.asarray(v) for v in tw.values()]) if tw else np.zeros(0)
    return qs, m, ranks
base = None
for arg in sys.argv[3:]:
    chans, shares, dim = arg.split(':')
    spec = (chans.split(','), [float(v) for v in shares.split(',')], int(dim))
    qs, m, ranks = run(spec)
    line = f"{arg:45s} MAP {m[:,0].mean():.3f} NDCG {m[:,1].mean():.3f} tw1 {np.mean(ranks<=1):.2f} tw5 {np.mean(ranks<=5):.2f} ({len(ranks)})"
    if base is None: base = m
    else:
        dm = bootstrap_ci(m[:,0]-base[:,0]); dn = bootstrap_ci(m[:,1]-base[:,1])
        line += f" dMAP {dm[1]:+.3f} [{dm[0]:+.3f},{dm[2]:+.3f}] dNDCG {dn[1]:+.3f} [{dn[0]:+.3f},{dn[2]:+.3f}]"
    print(line, flush=True)
