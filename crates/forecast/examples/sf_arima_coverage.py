#!/usr/bin/env python3
"""statsforecast AutoARIMA on the same M3 sample as `m3_arima.rs`, with the
figures that forecast_peers.py does not report: 95% interval coverage and
per-series specs, plus sMAPE/MASE/ms computed the same way.

    . ~/.cache/neuracrm-peers/venv/bin/activate
    python crates/forecast/examples/sf_arima_coverage.py /work/shared/data/m3_monthly.csv --every 7 --h 18
"""
import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from statsforecast.arima import arima_string, auto_arima_f, forecast_arima  # noqa: E402

warnings.filterwarnings("ignore")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--h", type=int, default=18)
    ap.add_argument("--every", type=int, default=7)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    df = pd.read_csv(a.csv).sort_values(["series_id", "date"])
    groups = [(sid, g["value"].to_numpy(float)) for sid, g in df.groupby("series_id", sort=True)][:: a.every]
    auto_arima_f(groups[0][1][: -a.h], period=12)  # JIT warm-up, not timed
    rows = []
    for sid, y in groups:
        if len(y) - a.h < 24:
            continue
        tr, te = y[: -a.h], y[-a.h:]
        t = time.perf_counter()
        fit = auto_arima_f(tr, period=12)
        fc = forecast_arima(fit, h=a.h, level=(95,))
        ms = (time.perf_counter() - t) * 1000
        f = np.asarray(fc["mean"], float)
        lo = fc["lower"]["95%"].to_numpy()
        hi = fc["upper"]["95%"].to_numpy()
        den = np.abs(te) + np.abs(f)
        smape = 100 * np.mean(np.where(den == 0, 0, 2 * np.abs(f - te) / den))
        scale = np.mean(np.abs(tr[12:] - tr[:-12]))
        mase = np.mean(np.abs(te - f)) / scale if scale > 0 else np.nan
        cov = np.mean((te >= lo) & (te <= hi))
        rows.append((sid, arima_string(fit), smape, mase, cov, ms))
    r = pd.DataFrame(rows, columns=["series_id", "spec", "smape", "mase", "covered95", "ms"])
    if a.out:
        r.to_csv(a.out, index=False)
    print(f"series={len(r)} h={a.h} sMAPE_mean={r.smape.mean():.3f} sMAPE_median={r.smape.median():.3f} "
          f"MASE_mean={r.mase.mean():.3f} coverage95={r.covered95.mean():.3f} ms_per_series={r.ms.mean():.2f}")


if __name__ == "__main__":
    main()
