#!/usr/bin/env python3
"""Python side of the VADER parity and throughput check.

    python vader_parity.py FILE.csv [COLUMN] > py_scores.txt
    cargo run --release -p neuracrm-sentiment --example vader_csv -- FILE.csv > rs_scores.txt
    diff py_scores.txt rs_scores.txt

Writes f"{neg:.4f},{neu:.4f},{pos:.4f},{compound:.4f}" per row (the format of
`neuracrm sentiment score`), and prints to stderr the best of 3 timed passes
over polarity_scores() only (one thread). Pinned: vaderSentiment==3.3.2,
CPython 3.11.
"""
import csv
import sys
import time
from importlib.metadata import version

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

path = sys.argv[1]
column = sys.argv[2] if len(sys.argv) > 2 else "text"
with open(path, newline="", encoding="utf-8") as f:
    texts = [row[column] for row in csv.DictReader(f)]
an = SentimentIntensityAnalyzer()
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    res = [an.polarity_scores(s) for s in texts]
    best = min(best, time.perf_counter() - t)
out = sys.stdout
for r in res:
    out.write(f"{r['neg']:.4f},{r['neu']:.4f},{r['pos']:.4f},{r['compound']:.4f}\n")
print(f"python vaderSentiment=={version('vaderSentiment')}: {len(texts)} texts in {best:.3f}s = "
      f"{len(texts) / best:,.0f}/s (1 thread, best of 3)", file=sys.stderr)
