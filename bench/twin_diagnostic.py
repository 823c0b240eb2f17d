"""Per-twin-query diagnostic: fits `nar` (or ``encoder=NAME``) once on every graph, label-free, so its vectors are
those of every fold of the transductive bench (`retrieval_bench.py --transductive`), then prints MAP@20 / NDCG@20
over every labelled query, twin hit@1 / hit@5 over the directed twin queries, the paired CI against the variant
named ``v4`` (if run before), and each twin query that misses the top 5 with the items above its twin.
Embeddings are cached under data/diag/ per VARIANT name (delete them after changing code). Not a bench row.

    python bench/twin_diagnostic.py data/all-full v4 token_canon_level=2
    python bench/twin_diagnostic.py data/all-full v5            # the shipped config
"""
import sys, os, pickle, time, json
import numpy as np
from nar_model.data import load_graphs, GraphSet
import hashlib
from nar.relevance import SOURCE, catalog_relevance
from nar_model.evaluation import Protocol
from nar_model.config import EncoderConfig
from nar_model.encoders import get_encoder
from nar_model.metrics import graded_scores, twin_ranks, bootstrap_ci
from nar_model.splits import UNKNOWN

data, variant = sys.argv[1], sys.argv[2]
over = {}
for kv in sys.argv[3:]:
    k, v = kv.split('=', 1)
    over[k] = int(v) if v.lstrip('-').isdigit() else (v == 'True' if v in ('True', 'False') else v)
os.makedirs('data/diag', exist_ok=True)
pc = f'data/diag/proto-{os.path.basename(data)}-{hashlib.sha1(SOURCE.encode()).hexdigest()[:6]}.pkl'  # per label set
if os.path.exists(pc):
    gs, proto = pickle.load(open(pc, 'rb'))
else:
    gs = load_graphs(data); proto = Protocol.build(gs, catalog_relevance(gs.graphs), 0.95)
    pickle.dump((gs, proto), open(pc, 'wb'))
ec = f'data/diag/emb-{os.path.basename(data)}-{variant}.npy'
if os.path.exists(ec):
    emb = np.load(ec)
else:
    t = time.time()
    enc = get_encoder(over.pop('encoder', 'nar'), EncoderConfig(seed=0), **over)
    enc.fit(proto.train_set(np.arange(0), np.arange(len(gs))))
    emb = enc.embed(gs.graphs); np.save(ec, emb)
    print(f'fit+embed {time.time()-t:.0f}s', flush=True)
fam = proto.relevance.family
queries = [i for i in range(len(gs)) if fam[i] != UNKNOWN]
sc = graded_scores(emb, proto.grades, proto.groups, queries, (20,))
np.save(f'data/diag/pq-{os.path.basename(data)}-{variant}.npy', np.stack([sc['query'], sc['map@20'], sc['ndcg@20']]))
tq, tr = twin_ranks(emb, proto.twins, proto.groups, queries)  # raw: every candidate counts
_, tf = twin_ranks(emb, proto.twins, proto.groups, queries, grades=proto.grades)  # filtered, as the bench reports
print(f'{variant}: MAP {sc["map@20"].mean():.4f} NDCG {sc["ndcg@20"].mean():.4f} twins {len(tr)} '
      f'filtered hit@1 {np.mean(tf<=1):.3f} hit@5 {np.mean(tf<=5):.3f} ({int((tf<=5).sum())}/{len(tf)}); '
      f'raw hit@1 {np.mean(tr<=1):.3f} hit@5 {np.mean(tr<=5):.3f} ({int((tr<=5).sum())}/{len(tr)})')
base = f'data/diag/pq-{os.path.basename(data)}-v4.npy'
if variant != 'v4' and os.path.exists(base):
    b = np.load(base)
    for j, m in ((1, 'MAP'), (2, 'NDCG')):
        d = bootstrap_ci(np.load(f'data/diag/pq-{os.path.basename(data)}-{variant}.npy')[j] - b[j])
        print(f'  d{m} vs v4 {d[1]:+.4f} [{d[0]:+.4f}, {d[2]:+.4f}]')
pair_t = {}
for a, b2 in proto.twins:
    if proto.groups[a] != proto.groups[b2]:
        pair_t.setdefault(int(a), []).append(int(b2)); pair_t.setdefault(int(b2), []).append(int(a))
e = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
ids = [g.model_id for g in gs.graphs]
seen = {}
for q, f in zip(tq.tolist(), tf.tolist()):
    seen[q] = seen.get(q, -1) + 1
    t = pair_t[q][seen[q]]
    s = e @ e[q]; cand = proto.groups != proto.groups[q]
    better = np.flatnonzero(cand & ((s > s[t]) | ((s == s[t]) & (np.arange(len(s)) < t))))
    r = len(better) + 1
    if r > 5 or os.environ.get('TWIN_DIAG_ALL'):
        top = better[np.argsort(-s[better])][:6]
        print(f'MISS r={r:3d} filtered {f:3d} {ids[q]} -> {ids[t]} ({s[t]:.3f}) above: ' +
              ', '.join(f'{ids[i]}({s[i]:.3f},g{proto.grades[q, i]})' for i in top))
