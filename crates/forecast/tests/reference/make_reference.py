#!/usr/bin/env python3
"""Reference values for the ETS, Theta and ensemble-member tests (crates/forecast).

Pinned peers: statsforecast==2.1.1 (AutoETS, Theta), prophet==1.5.0, numpy, pandas as installed in
~/.cache/neuracrm-peers/venv. Run from the repository root:

    . ~/.cache/neuracrm-peers/venv/bin/activate
    python crates/forecast/tests/reference/make_reference.py > crates/forecast/tests/reference/forecast_reference.txt

Reads the series from /work/shared/data at generation time and prints, per case,
the series itself (so the Rust tests need no shared data) and the reference
implementation's results:

  ets_auto      AutoETS(season_length=m): selected model, loglik, AICc, sigma2,
                smoothing parameters, h-step mean and 95% interval.
  ets_fixed     AutoETS(model=XYZ, damped=...) on one specification.
  theta         Theta(season_length=m) (the standard theta method): alpha,
                initial level, h-step mean.
  prophet       prophet 1.5.0 Prophet(yearly, multiplicative; weekly/daily off),
                monthly dates: 12-step yhat and 95% interval (its own 1000
                simulated paths).

M3 series are cut to their training part (the last 18 points are the official
test period).
"""
import sys
import warnings

import numpy as np
import pandas as pd
import statsforecast
from statsforecast.models import AutoETS, Theta

warnings.filterwarnings("ignore")
assert statsforecast.__version__ == "2.1.1", statsforecast.__version__
import logging  # noqa: E402

for _lg in ("prophet.plot", "cmdstanpy", "prophet"):
    logging.getLogger(_lg).disabled = True
import prophet  # noqa: E402

assert prophet.__version__ == "1.5.0", prophet.__version__

DATA = "/work/shared/data"
H = 12


def series(path, sid=None):
    df = pd.read_csv(path)
    if sid is not None:
        df = df[df["series_id"] == sid]
    df = df.sort_values("date")
    return df["value"].to_numpy(float)


def fmt(xs):
    return " ".join(repr(float(x)) for x in xs)


def ets_case(name, y, m, model="ZZZ", damped=None):
    mod = AutoETS(season_length=m, model=model, damped=damped)
    mod.fit(y)
    f = mod.predict(h=H, level=[95])
    md = mod.model_
    alpha, beta, gamma, phi = md["par"][:4]
    kind = "ets_auto" if model == "ZZZ" else "ets_fixed"
    print(f"case {kind} {name}")
    print(f"m {m}")
    print(f"y {fmt(y)}")
    print(f"request {model} {'' if damped is None else int(damped)}".rstrip())
    print(f"method {md['method']}")
    print(f"loglik {float(md['loglik'])!r}")
    print(f"aicc {float(md['aicc'])!r}")
    print(f"sigma2 {float(md['sigma2'])!r}")
    print(f"par {fmt([alpha, beta, gamma, phi])}")
    print(f"mean {fmt(f['mean'])}")
    print(f"lower95 {fmt(f['lo-95'])}")
    print(f"upper95 {fmt(f['hi-95'])}")
    print("end")


def theta_case(name, y, m, h=18):
    mod = Theta(season_length=m)
    mod.fit(y)
    f = mod.predict(h=h, level=[95])
    md = mod.model_
    print(f"case theta {name}")
    print(f"m {m}")
    print(f"y {fmt(y)}")
    print(f"decompose {int(bool(md.get('decompose', False)))}")
    print(f"alpha {float(md['par']['alpha'])!r}")
    print(f"initial_level {float(md['par']['initial_smoothed'])!r}")
    print(f"mean {fmt(f['mean'])}")
    print(f"lower95 {fmt(f['lo-95'])}")
    print(f"upper95 {fmt(f['hi-95'])}")
    print("end")


def prophet_case(name, y, start="2000-01-01"):
    from prophet import Prophet

    dates = pd.date_range(start, periods=len(y), freq="MS")
    mod = Prophet(yearly_seasonality=True, weekly_seasonality=False, daily_seasonality=False,
                  seasonality_mode="multiplicative", interval_width=0.95)
    mod.fit(pd.DataFrame({"ds": dates, "y": y}))
    fut = mod.make_future_dataframe(periods=H, freq="MS", include_history=False)
    f = mod.predict(fut)
    print(f"case prophet {name}")
    print("m 12")
    print(f"y {fmt(y)}")
    print(f"mean {fmt(f['yhat'])}")
    print(f"lower95 {fmt(f['yhat_lower'])}")
    print(f"upper95 {fmt(f['yhat_upper'])}")
    print("end")


def main():
    print(f"# statsforecast {statsforecast.__version__}, prophet {prophet.__version__}, "
          f"numpy {np.__version__}, pandas {pd.__version__}")
    air = series(f"{DATA}/airpassengers.csv")
    m3 = f"{DATA}/m3_monthly.csv"
    picks = ["M3_N1402", "M3_N1500", "M3_N2000", "M3_N2500"]
    m3s = {sid: series(m3, sid)[:-18] for sid in picks}

    ets_case("airpassengers", air, 12)
    for sid in picks[:3]:
        ets_case(sid, m3s[sid], 12)
    ets_case("airpassengers_ANN", air, 12, model="ANN")
    ets_case("airpassengers_AAdN", air, 12, model="AAN", damped=True)
    ets_case("airpassengers_MAM", air, 12, model="MAM", damped=False)

    theta_case("airpassengers", air, 12)
    for sid in picks:
        theta_case(sid, m3s[sid], 12)

    prophet_case("airpassengers", air, start="1949-01-01")
    prophet_case("M3_N2500", m3s["M3_N2500"])


if __name__ == "__main__":
    sys.exit(main())
