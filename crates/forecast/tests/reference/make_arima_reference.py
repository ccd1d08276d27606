#!/usr/bin/env python3
"""Reference values for the auto-ARIMA tests (crates/forecast/src/arima).

Pinned peers: statsforecast==2.1.1, statsmodels (KPSS), numpy, pandas as installed
in ~/.cache/neuracrm-peers/venv. Run:

    . ~/.cache/neuracrm-peers/venv/bin/activate
    python crates/forecast/tests/reference/make_arima_reference.py > crates/forecast/tests/reference/arima_reference.txt

Reads the series from /work/shared/data at generation time and prints, for each
case: the series itself (so the Rust test needs no shared data), statsforecast's
selected model, its coefficients, log-likelihood, AICc, sigma2, and the h-step
forecasts with 95% intervals; plus fixed-order ARIMA fits and KPSS statistics.
"""
import sys
import warnings

import numpy as np
import pandas as pd
import statsforecast
import statsmodels
from statsforecast.arima import Arima, auto_arima_f, forecast_arima, seas_heuristic
from statsmodels.tsa.stattools import kpss

warnings.filterwarnings("ignore")
assert statsforecast.__version__ == "2.1.1", statsforecast.__version__

DATA = "/work/shared/data"


def series(path, sid):
    df = pd.read_csv(f"{DATA}/{path}")
    g = df[df.series_id == sid].sort_values("date")
    return g["value"].to_numpy(float)


def fmt(v):
    return " ".join(repr(float(x)) for x in np.atleast_1d(v))


def dump(name, y, fit, h):
    fc = forecast_arima(fit, h=h, level=(95,))
    print(f"case {name}")
    print(f"y {fmt(y)}")
    a = fit["arma"]  # p, q, P, Q, m, d, D
    print(f"order {a[0]} {a[5]} {a[1]} {a[2]} {a[6]} {a[3]} {a[4]}")
    print("coef " + " ".join(f"{k}={float(v)!r}" for k, v in fit["coef"].items()))
    print(f"loglik {float(fit['loglik'])!r}")
    print(f"aicc {float(fit.get('aicc', float('nan')))!r}")
    print(f"sigma2 {float(fit['sigma2'])!r}")
    print(f"mean {fmt(fc['mean'])}")
    print(f"lower95 {fmt(fc['lower']['95%'].to_numpy())}")
    print(f"upper95 {fmt(fc['upper']['95%'].to_numpy())}")
    print("end")


def dump_fixed(name, y, order, seas, coef_names, coefs, h):
    """statsforecast's likelihood, sigma2 (= ssq / n, no estimated coefficients)
    and forecasts at *given* coefficients. kappa = 1e9 makes its diffuse prior for
    the differencing states closer to the exact limit that differencing first
    gives (the default 1e6 perturbs the log-likelihood by ~1e-5 relative)."""
    fit = Arima(y, order=order, seasonal={"order": seas, "period": 12},
                include_mean="intercept" in coef_names, include_drift="drift" in coef_names,
                fixed=np.array(coefs, float), method="ML", kappa=1e9)
    fc = forecast_arima(fit, h=h, level=(95,))
    print(f"fixed {name}")
    print(f"y {fmt(y)}")
    print(f"order {order[0]} {order[1]} {order[2]} {seas[0]} {seas[1]} {seas[2]} 12")
    print("coef " + " ".join(f"{k}={float(v)!r}" for k, v in zip(coef_names, coefs)))
    print(f"loglik {float(fit['loglik'])!r}")
    print(f"sigma2 {float(fit['sigma2'])!r}")
    print(f"mean {fmt(fc['mean'])}")
    print(f"lower95 {fmt(fc['lower']['95%'].to_numpy())}")
    print(f"upper95 {fmt(fc['upper']['95%'].to_numpy())}")
    print("end")


def dump_mle(name, y, order, seas, trend):
    """Converged exact MLE of the differenced series from statsmodels SARIMAX
    (simple_differencing=True is the same likelihood as ours): Nelder-Mead then
    BFGS to a tight gradient, because statsforecast's own BFGS stops early
    ("precision loss") a little short of the optimum. A constant is reported as
    statsforecast names it: intercept = c / (1 - sum(ar)) for d + D = 0, drift =
    that mean divided by the differenced time regressor (1, or m after D = 1)."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX
    m = SARIMAX(y, order=order, seasonal_order=(*seas, 12), trend="c" if trend else "n",
                simple_differencing=True)
    r = m.fit(disp=False, method="nm", maxiter=20000, xtol=1e-12, ftol=1e-14)
    r = m.fit(start_params=r.params, disp=False, method="bfgs", maxiter=5000, gtol=1e-10)
    names = list(m.param_names)
    vals = dict(zip(names, r.params))
    out = []
    ar = [vals[n] for n in names if n.startswith("ar.L")]
    sar = [vals[n] for n in names if n.startswith("ar.S.L")]
    for n in names:
        if n.startswith("ar.L"):
            out.append((f"ar{n[4:]}", vals[n]))
    for n in names:
        if n.startswith("ma.L"):
            out.append((f"ma{n[4:]}", vals[n]))
    for i, n in enumerate([n for n in names if n.startswith("ar.S.L")]):
        out.append((f"sar{i + 1}", vals[n]))
    for i, n in enumerate([n for n in names if n.startswith("ma.S.L")]):
        out.append((f"sma{i + 1}", vals[n]))
    if trend:
        mean = vals["intercept"] / ((1 - sum(ar)) * (1 - sum(sar)))
        ndiff = order[1] + seas[1]
        scale = 12 if (seas[1] == 1 and order[1] == 0) else 1
        out.append(("intercept" if ndiff == 0 else "drift", mean / scale))
    print(f"mle {name}")
    print(f"y {fmt(y)}")
    print(f"order {order[0]} {order[1]} {order[2]} {seas[0]} {seas[1]} {seas[2]} 12")
    print("coef " + " ".join(f"{k}={float(v)!r}" for k, v in out))
    print(f"loglik {float(r.llf)!r}")
    print("end")


def main():
    print(f"# statsforecast {statsforecast.__version__}, statsmodels {statsmodels.__version__}, numpy {np.__version__}")
    air = series("airpassengers.csv", "AirPassengers")
    dump("airpassengers_auto", air, auto_arima_f(air, period=12), 12)
    print(f"seas airpassengers_auto {float(seas_heuristic(air, 12))!r}")
    for sid in ["M3_N1402", "M3_N1500", "M3_N1652", "M3_N2000", "M3_N2500"]:
        y = series("m3_monthly.csv", sid)[:-18]
        dump(f"{sid}_auto", y, auto_arima_f(y, period=12), 18)
        # Seasonal strength from statsforecast's STL (statsmodels STL, seasonal=11,
        # seasonal_deg=0): the quantity its seasonal-differencing test thresholds.
        print(f"seas {sid}_auto {float(seas_heuristic(y, 12))!r}")
    # Forecasts, intervals and likelihood at given coefficients.
    dump_fixed("airline", air, (0, 1, 1), (0, 1, 1), ["ma1", "sma1"], [-0.3, -0.1], 12)
    dump_fixed("log_airline", np.log(air), (0, 1, 1), (0, 1, 1), ["ma1", "sma1"], [-0.4, -0.55], 24)
    dump_fixed("ar2_drift", air, (2, 1, 0), (0, 0, 0), ["ar1", "ar2", "drift"], [0.38, -0.23, 2.3], 6)
    dump_fixed("arma11_mean", air[:60], (1, 0, 1), (0, 0, 0), ["ar1", "ma1", "intercept"], [0.87, 0.29, 170.0], 6)
    dump_fixed("sar_drift", air[:96], (1, 0, 0), (1, 1, 0), ["ar1", "sar1", "drift"], [0.7, -0.3, 2.5], 12)
    # Converged maximum-likelihood fits of fixed orders.
    dump_mle("airline", air, (0, 1, 1), (0, 1, 1), False)
    dump_mle("log_airline", np.log(air), (0, 1, 1), (0, 1, 1), False)
    dump_mle("ar2_drift", air, (2, 1, 0), (0, 0, 0), True)
    dump_mle("arma11_mean", air[:60], (1, 0, 1), (0, 0, 0), True)
    dump_mle("sar_drift", air[:96], (1, 0, 0), (1, 1, 0), True)
    # KPSS level statistics with the lag rule used by ndiffs: floor(3 sqrt(n) / 13).
    for name, x in [("air", air), ("dair", np.diff(air)), ("logair", np.log(air))]:
        nl = int(np.floor(3 * np.sqrt(len(x)) / 13))
        print(f"kpss {name} {nl} {float(kpss(x, 'c', nlags=nl)[0])!r}")


if __name__ == "__main__":
    sys.exit(main())
