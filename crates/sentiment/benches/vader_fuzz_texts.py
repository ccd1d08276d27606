#!/usr/bin/env python3
"""Adversarial texts for the VADER parity check: random sequences of the
words and symbols every rule looks at, at every position.

    python vader_fuzz_texts.py 20000 > fuzz.csv
    python vader_parity.py fuzz.csv > py.txt
    cargo run --release -p neuracrm-sentiment --example vader_csv -- fuzz.csv > rs.txt
    cmp py.txt rs.txt
"""
import csv
import random
import sys

PIECES = ["no", "NO", "not", "never", "so", "this", "without", "doubt", "but", "BUT", "But", "least",
          "at", "very", "VERY", "kind", "of", "kinda", "KINDA", "the", "bomb", "shit", "kiss", "death",
          "to", "die", "for", "yeah", "right", "bad", "ass", "bus", "stop", "good", "GOOD", "bad",
          "Great", "isn't", "ISN'T", "!", "?", "??", "!!!", ":)", ":(", ":-)", "<3", "😀", "💔", "🎉",
          "\u001f", "\u00a0", " ", "\n", "\t", "ΣΑΣ", "İ", "...", "-", "'", "\"", "or", "nor", "happy",
          "sad", "love", "hate", "extremely", "barely", "sort", "just", "enough", "uh-uh", "n't",
          "despite", "rarely", "LOL", "meh", "ok", "1", "2.5", "#", "@user", "http://x.y", "ünïcödé"]

n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
rng = random.Random(42)
w = csv.writer(sys.stdout)
w.writerow(["text"])
for _ in range(n):
    k = rng.randint(0, 14)
    parts = []
    for _ in range(k):
        parts.append(rng.choice(PIECES))
        if rng.random() < 0.7:
            parts.append(" ")
    w.writerow(["".join(parts)])
