"""How much of a held-out query's top 20 is held out too: the inductive-basis effect, measured.

Every relevant item of a held-out query is itself held out (families are split whole), so an embedding that
makes the graphs unseen at fit look like each other gains MAP without retrieving any better. This prints, per
method and fit setting, the share of held-out graphs among each held-out query's top 20 (the query's own group
dropped), next to their share of the database, and the MAP@20 of the same run (protocol of
`bench/retrieval_bench.py`, seed 0).

    python bench/heldout_share.py --data data/nar --folds 5 --methods nar,nar/v2,nar/no-basis
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from nar.relevance import catalog_relevance
from nar_model.config import EncoderConfig
from nar_model.data import load_graphs
from nar_model.encoders import get_encoder
from nar_model.evaluation import Protocol
from nar_model.metrics import graded_scores
from nar_model.splits import UNKNOWN

from retrieval_bench import METHODS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--methods", default="nar,nar/v2,nar/no-basis")
    args = ap.parse_args()
    graphs = load_graphs(args.data)
    proto = Protocol.build(graphs, catalog_relevance(graphs.graphs))
    groups = np.asarray(proto.groups)
    print(f"# {args.data}: {len(graphs)} graphs, {args.folds} folds, seed 0, load {os.getloadavg()[0]:.1f}\n")
    print("| method | fit saw | held-out share of top 20 | held-out share of the database | MAP@20 |")
    print("|---|---|---|---|---|")
    for name in args.methods.split(","):
        m = METHODS[name]
        for transductive in (False, True):
            shares, db, maps = [], [], []
            for train, test in proto.splits(args.folds, 0):
                enc = get_encoder(m.encoder, EncoderConfig(), **m.overrides)
                enc.fit(proto.train_set(train, test if transductive else None))
                emb = enc.embed(graphs.graphs)
                held = np.zeros(len(graphs), dtype=bool)
                held[test] = True
                queries = [int(i) for i in test if proto.relevance.family[int(i)] != UNKNOWN]
                for q in queries:
                    s = emb @ emb[q]
                    s[groups == groups[q]] = -np.inf
                    top = np.argsort(-s, kind="stable")[:20]
                    shares.append(held[top].mean())
                db.append(held.mean())
                maps += list(graded_scores(emb, proto.grades, proto.groups, queries, (20,))["map@20"])
            saw = "train + test (unlabelled)" if transductive else "train only"
            print(f"| {name} | {saw} | {np.mean(shares):.2f} | {np.mean(db):.2f} | {np.mean(maps):.3f} |", flush=True)


if __name__ == "__main__":
    main()
