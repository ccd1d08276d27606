#!/usr/bin/env python3
"""scikit-learn peer on the split written by `sentiment_bench` (same rows as ours).

    python sklearn_on_split.py SPLIT_DIR [--config peer|ours] [--algorithm rf|logreg]

peer: TfidfVectorizer(ngram_range=(1,2), min_df=2, sublinear_tf=True), as
      /work/shared/peers/sentiment_peers.py --tfidf-rf;
ours: TfidfVectorizer(ngram_range=(1,2), max_features=5000, sublinear_tf=True),
      neuracrm-sentiment's default.
RandomForestClassifier(n_estimators=100, random_state=42, n_jobs=1) or
LogisticRegression(C=10, max_iter=300). Pinned: scikit-learn 1.9.1.
"""
import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import pandas as pd  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--config", default="peer", choices=["peer", "ours"])
ap.add_argument("--algorithm", default="rf", choices=["rf", "logreg"])
a = ap.parse_args()
tr = pd.read_csv(os.path.join(a.dir, "train.csv"), keep_default_na=False)
te = pd.read_csv(os.path.join(a.dir, "test.csv"), keep_default_na=False)
labels = sorted(set(tr["label"]))
if a.config == "peer":
    vec = TfidfVectorizer(lowercase=True, ngram_range=(1, 2), min_df=2, sublinear_tf=True)
else:
    vec = TfidfVectorizer(lowercase=True, ngram_range=(1, 2), max_features=5000, sublinear_tf=True)
clf = (RandomForestClassifier(n_estimators=100, random_state=42, n_jobs=1) if a.algorithm == "rf"
       else LogisticRegression(C=10, max_iter=300))
t = time.perf_counter()
X = vec.fit_transform(tr["text"].astype(str))
clf.fit(X, tr["label"])
fit_s = time.perf_counter() - t
pred = clf.predict(vec.transform(te["text"].astype(str)))
print(f"sklearn {a.algorithm} config={a.config} vocab={len(vec.vocabulary_)} train={len(tr)} test={len(te)}: "
      f"acc={accuracy_score(te['label'], pred):.4f} "
      f"macroF1={f1_score(te['label'], pred, labels=labels, average='macro', zero_division=0):.4f} fit={fit_s:.2f}s")
