//! Charts drawn by the server as SVG: no chart library, no script.
//!
//! Each function returns the markup of one `<svg>` with a `<title>` and a
//! `<desc>` for screen readers (pages also render the figures as a table).
//! Every text that comes from data is escaped here; the templates insert the
//! markup as is. Sizes are in the SVG's own units and the element scales to
//! its container (`viewBox`, width 100 %).

use std::fmt::Write;

/// Width of every chart's drawing, in SVG units.
const W: f64 = 720.0;
/// Room for the y-axis labels.
const LEFT: f64 = 64.0;
/// Room for the x-axis labels.
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;
const RIGHT: f64 = 16.0;

/// Escapes text for SVG/HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// About `n` round tick values covering `lo..=hi` (1, 2 or 5 times a power
/// of ten apart), the first at or below `lo`, the last at or above `hi`.
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    let span = if hi - lo > f64::EPSILON * hi.abs().max(1.0) {
        hi - lo
    } else {
        hi.abs().max(1.0)
    };
    let n = n.max(1) as f64;
    let raw = span / n;
    let mag = 10f64.powf(raw.log10().floor());
    // The round step (1, 2, 2.5 or 5 times a power of ten) that gives the
    // number of intervals closest to `n`.
    let step = [0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0]
        .into_iter()
        .map(|m| m * mag)
        .min_by(|a, b| {
            let da = (span / a - n).abs();
            let db = (span / b - n).abs();
            da.total_cmp(&db)
        })
        .unwrap_or(mag);
    let first = (lo / step).floor() * step;
    let mut ticks = vec![];
    let mut t = first;
    while t < hi + step * 0.5 && ticks.len() < 50 {
        // Snap to the step so labels do not show 0.30000000000000004.
        ticks.push((t / step).round() * step);
        if t >= hi {
            break;
        }
        t += step;
    }
    if ticks.len() < 2 {
        ticks.push(first + step);
    }
    ticks
}

/// A short label of a figure: `1.2M`, `45k`, `980`, `0.35`.
pub fn short_number(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = if x.fract().abs() < 1e-9 || x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 || !suffix.is_empty() {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{suffix}")
}

/// A time series with a forecast: history as a solid line, the forecast
/// dashed, its interval as a light band.
#[derive(Debug, Clone, Default)]
pub struct ForecastChart {
    /// What it shows, for the `<title>`.
    pub title: String,
    /// One label per point, history then forecast (`2026-11`).
    pub labels: Vec<String>,
    /// The actual values (as many as the history).
    pub history: Vec<f64>,
    /// The forecast after the history.
    pub forecast: Vec<f64>,
    /// Its lower bound, one per forecast point.
    pub lower: Vec<f64>,
    /// Its upper bound.
    pub upper: Vec<f64>,
}

impl ForecastChart {
    /// The SVG.
    pub fn svg(&self) -> String {
        let h = 260.0;
        let n = self.history.len() + self.forecast.len();
        let all = self
            .history
            .iter()
            .chain(&self.forecast)
            .chain(&self.lower)
            .chain(&self.upper)
            .copied()
            .filter(|v| v.is_finite());
        let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo.is_finite() {
            (lo.min(0.0), hi)
        } else {
            (0.0, 1.0)
        };
        let ticks = nice_ticks(lo, hi, 4);
        let frame = Frame::new(
            h,
            *ticks.first().unwrap_or(&lo),
            *ticks.last().unwrap_or(&hi),
            n,
        );
        let mut s = frame.open(
            &self.title,
            &format!(
                "{} months of history, {} forecast",
                self.history.len(),
                self.forecast.len()
            ),
        );
        frame.y_axis(&mut s, &ticks);
        frame.x_labels(&mut s, &self.labels);
        let off = self.history.len();
        if !self.forecast.is_empty() && self.lower.len() == self.forecast.len() {
            // The band: along the upper bound, back along the lower one; it
            // starts at the last actual so it joins the history.
            let mut pts: Vec<(f64, f64)> = vec![];
            if let Some(last) = self.history.last() {
                pts.push((frame.x(off - 1), frame.y(*last)));
            }
            for (i, u) in self.upper.iter().enumerate() {
                pts.push((frame.x(off + i), frame.y(*u)));
            }
            for (i, l) in self.lower.iter().enumerate().rev() {
                pts.push((frame.x(off + i), frame.y(*l)));
            }
            let _ = write!(s, r#"<polygon class="band" points="{}"/>"#, points(&pts));
        }
        let hist: Vec<(f64, f64)> = self
            .history
            .iter()
            .enumerate()
            .map(|(i, v)| (frame.x(i), frame.y(*v)))
            .collect();
        if hist.len() > 1 {
            let _ = write!(
                s,
                r#"<polyline class="line history" points="{}"/>"#,
                points(&hist)
            );
        }
        if !self.forecast.is_empty() {
            let mut fc: Vec<(f64, f64)> = hist.last().copied().into_iter().collect();
            fc.extend(
                self.forecast
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (frame.x(off + i), frame.y(*v))),
            );
            let _ = write!(
                s,
                r#"<polyline class="line forecast" points="{}"/>"#,
                points(&fc)
            );
        }
        if let (Some((x, y)), Some(v)) = (hist.last(), self.history.last()) {
            let _ = write!(
                s,
                r#"<circle class="dot" cx="{x:.1}" cy="{y:.1}" r="3"/><text class="value" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                x - 6.0,
                y - 8.0,
                escape(&short_number(*v))
            );
        }
        s.push_str("</svg>");
        s
    }
}

/// Stacked bars, one per bucket: e.g. negative, neutral and positive counts
/// per week.
#[derive(Debug, Clone, Default)]
pub struct StackedBars {
    /// What it shows.
    pub title: String,
    /// One label per bucket.
    pub labels: Vec<String>,
    /// The stacks, bottom first: (CSS class, values per bucket).
    pub stacks: Vec<(&'static str, Vec<f64>)>,
}

impl StackedBars {
    /// The SVG.
    pub fn svg(&self) -> String {
        let h = 200.0;
        let n = self.labels.len();
        let totals: Vec<f64> = (0..n)
            .map(|i| {
                self.stacks
                    .iter()
                    .map(|(_, v)| v.get(i).copied().unwrap_or(0.0))
                    .sum()
            })
            .collect();
        let hi = totals.iter().copied().fold(0.0, f64::max);
        let ticks = nice_ticks(0.0, hi.max(1.0), 4);
        let frame = Frame::new(h, 0.0, *ticks.last().unwrap_or(&1.0), n.max(1));
        let mut s = frame.open(&self.title, &format!("{n} buckets"));
        frame.y_axis(&mut s, &ticks);
        frame.x_labels(&mut s, &self.labels);
        let bw = (frame.step() * 0.7).max(1.0);
        for i in 0..n {
            let mut base = 0.0;
            for (class, values) in &self.stacks {
                let v = values.get(i).copied().unwrap_or(0.0).max(0.0);
                if v > 0.0 {
                    let (y0, y1) = (frame.y(base), frame.y(base + v));
                    let _ = write!(
                        s,
                        r#"<rect class="{}" x="{:.1}" y="{:.1}" width="{bw:.1}" height="{:.1}"><title>{}: {}</title></rect>"#,
                        class,
                        frame.x(i) - bw / 2.0,
                        y1,
                        (y0 - y1).max(0.5),
                        escape(self.labels.get(i).map(String::as_str).unwrap_or("")),
                        short_number(v)
                    );
                }
                base += v;
            }
        }
        s.push_str("</svg>");
        s
    }
}

/// Horizontal bars of points out of a maximum: a score's factors.
#[derive(Debug, Clone, Default)]
pub struct FactorBars {
    /// What it shows.
    pub title: String,
    /// (label, points, maximum, backed by real data).
    pub bars: Vec<(String, f64, f64, bool)>,
}

impl FactorBars {
    /// The SVG.
    pub fn svg(&self) -> String {
        // Drawn about as wide as the card it sits in, so 12-unit text reads
        // as 12 px.
        let w = 440.0;
        let row = 26.0;
        let h = row * self.bars.len() as f64 + 4.0;
        let label_w = 110.0;
        let bar_w = w - label_w - 70.0;
        let most = self.bars.iter().map(|b| b.2).fold(0.0, f64::max).max(1e-9);
        let mut s = format!(
            r#"<svg class="chart bars" viewBox="0 0 {w} {h}" role="img"><title>{}</title>"#,
            escape(&self.title)
        );
        for (i, (label, points, max, backed)) in self.bars.iter().enumerate() {
            let y = i as f64 * row + 4.0;
            let full = bar_w * max / most;
            let got = bar_w * (points / most).clamp(0.0, 1.0);
            let _ = write!(
                s,
                r#"<text class="label" x="0" y="{:.1}">{}</text><rect class="track" x="{label_w}" y="{y:.1}" width="{full:.1}" height="16" rx="3"/><rect class="{}" x="{label_w}" y="{y:.1}" width="{got:.1}" height="16" rx="3"/><text class="value" x="{:.1}" y="{:.1}">{} / {}</text>"#,
                y + 12.5,
                escape(label),
                if *backed { "fill" } else { "fill default" },
                label_w + bar_w + 8.0,
                y + 12.5,
                short_number(*points),
                short_number(*max)
            );
        }
        s.push_str("</svg>");
        s
    }
}

/// The plotting area of a chart with a y-axis and one slot per point.
struct Frame {
    h: f64,
    lo: f64,
    hi: f64,
    n: usize,
}

impl Frame {
    fn new(h: f64, lo: f64, hi: f64, n: usize) -> Frame {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        Frame { h, lo, hi, n }
    }

    fn step(&self) -> f64 {
        (W - LEFT - RIGHT) / self.n.max(1) as f64
    }

    fn x(&self, i: usize) -> f64 {
        LEFT + self.step() * (i as f64 + 0.5)
    }

    fn y(&self, v: f64) -> f64 {
        let v = if v.is_finite() { v } else { self.lo };
        let plot = self.h - TOP - BOTTOM;
        TOP + plot * (1.0 - (v - self.lo) / (self.hi - self.lo))
    }

    fn open(&self, title: &str, desc: &str) -> String {
        format!(
            r#"<svg class="chart" viewBox="0 0 {W} {}" role="img"><title>{}</title><desc>{}</desc>"#,
            self.h,
            escape(title),
            escape(desc)
        )
    }

    fn y_axis(&self, s: &mut String, ticks: &[f64]) {
        for t in ticks {
            let y = self.y(*t);
            let _ = write!(
                s,
                r#"<line class="grid" x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                W - RIGHT,
                LEFT - 8.0,
                y + 4.0,
                escape(&short_number(*t))
            );
        }
    }

    /// At most about eight labels, evenly spaced, the last always shown.
    fn x_labels(&self, s: &mut String, labels: &[String]) {
        let every = labels.len().div_ceil(8).max(1);
        for (i, l) in labels.iter().enumerate() {
            let last = i + 1 == labels.len();
            // The last label is always drawn; a regular one too close to it
            // would overlap it.
            if !last && (i % every != 0 || labels.len() - 1 - i < every.div_ceil(2).max(1)) {
                continue;
            }
            let _ = write!(
                s,
                r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                self.x(i),
                self.h - 8.0,
                escape(l)
            );
        }
    }
}

fn points(pts: &[(f64, f64)]) -> String {
    let mut s = String::new();
    for (i, (x, y)) in pts.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{x:.1},{y:.1}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 97.0, 4), vec![0.0, 25.0, 50.0, 75.0, 100.0]);
        assert_eq!(
            nice_ticks(0.0, 97.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(nice_ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        let t = nice_ticks(12_345.0, 987_654.0, 4);
        assert!(t[0] <= 12_345.0 && *t.last().unwrap() >= 987_654.0, "{t:?}");
        assert!(t.windows(2).all(|w| w[1] > w[0]));
        // A flat series still gets an axis.
        assert!(nice_ticks(5.0, 5.0, 4).len() >= 2);
        assert!(nice_ticks(f64::NAN, 1.0, 4).len() >= 2);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(short_number(1_250_000.0), "1.2M");
        assert_eq!(short_number(45_000.0), "45k");
        assert_eq!(short_number(980.0), "980");
        assert_eq!(short_number(0.35), "0.35");
        assert_eq!(short_number(2e9), "2B");
        assert_eq!(short_number(-12_000.0), "-12k");
    }

    #[test]
    fn a_forecast_chart_draws_history_forecast_and_band_and_escapes_text() {
        let c = ForecastChart {
            title: "Revenue <by month>".into(),
            labels: (1..=8).map(|m| format!("2026-{m:02}")).collect(),
            history: vec![10.0, 12.0, 11.0, 13.0, 15.0],
            forecast: vec![16.0, 17.0, 18.0],
            lower: vec![14.0, 14.5, 15.0],
            upper: vec![18.0, 19.5, 21.0],
        };
        let svg = c.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Revenue &lt;by month&gt;"));
        assert!(!svg.contains("<by month>"));
        assert_eq!(svg.matches("class=\"line history\"").count(), 1);
        assert_eq!(svg.matches("class=\"line forecast\"").count(), 1);
        assert_eq!(svg.matches("class=\"band\"").count(), 1);
        // The band joins the last actual and has 1 + 3 + 3 points.
        let band = svg.split("class=\"band\" points=\"").nth(1).unwrap();
        let band = band.split('"').next().unwrap();
        assert_eq!(band.split(' ').count(), 7);
        // The last actual is labelled.
        assert!(svg.contains(">15<"), "{svg}");
    }

    /// 26 months labelled every fourth put 2027-10 and 2027-11 on top of
    /// each other at the end of the forecast page's chart.
    #[test]
    fn the_last_x_label_does_not_overlap_the_one_before() {
        let labels: Vec<String> = (0..26).map(|i| format!("m{i}")).collect();
        let c = ForecastChart {
            title: "t".into(),
            history: vec![1.0; 26],
            labels,
            ..Default::default()
        };
        let svg = c.svg();
        assert!(svg.contains(">m25<") && svg.contains(">m20<"), "{svg}");
        assert!(!svg.contains(">m24<"), "one slot before the last: {svg}");
    }

    #[test]
    fn a_chart_without_data_still_draws_an_empty_frame() {
        let svg = ForecastChart::default().svg();
        assert!(svg.contains("<title>") && !svg.contains("polyline"));
        let bars = StackedBars::default().svg();
        assert!(bars.contains("</svg>") && !bars.contains("<rect"));
    }

    #[test]
    fn stacked_bars_stack_and_factor_bars_show_points_of_maximum() {
        let b = StackedBars {
            title: "Sentiment".into(),
            labels: vec!["w1".into(), "w2".into()],
            stacks: vec![("neg", vec![1.0, 0.0]), ("pos", vec![2.0, 3.0])],
        };
        let svg = b.svg();
        assert_eq!(
            svg.matches("<rect class=\"neg\"").count(),
            1,
            "a zero draws nothing"
        );
        assert_eq!(svg.matches("<rect class=\"pos\"").count(), 2);
        let f = FactorBars {
            title: "Factors".into(),
            bars: vec![
                ("Industry".into(), 20.0, 20.0, true),
                ("Budget".into(), 0.0, 10.0, false),
            ],
        };
        let svg = f.svg();
        assert!(svg.contains("20 / 20") && svg.contains("0 / 10"));
        assert!(
            svg.contains("fill default"),
            "a default is drawn differently"
        );
    }
}
