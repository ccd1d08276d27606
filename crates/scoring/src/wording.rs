//! The wording read from a lead's title and description: urgency and budget
//! phrases for the engine, intent phrases for the offline estimator, found
//! in one scan of the text by one automaton over the three tables.

use crate::intent::{IntentAssessment, IntentFailure, IntentSource, MAX_INTENT};
use crate::matcher::PhraseMatcher;
use crate::rules::{BUDGET_PHRASES, INTENT_PHRASES, URGENCY_PHRASES};
use std::sync::LazyLock;

// Distinct intent phrases are tracked in a u64 bit set.
const _: () = assert!(INTENT_PHRASES.len() <= 64);

/// Table order in [`MATCHER`].
const URGENCY: usize = 0;
const BUDGET: usize = 1;
const INTENT: usize = 2;

/// The three tables compiled once per process.
static MATCHER: LazyLock<Option<PhraseMatcher>> = LazyLock::new(|| {
    let phrases = |t: &'static [(&'static str, f64)]| t.iter().map(|(p, _)| *p);
    PhraseMatcher::new_tables([
        phrases(URGENCY_PHRASES),
        phrases(BUDGET_PHRASES),
        phrases(INTENT_PHRASES),
    ])
    .ok()
});

/// Strongest positive phrase and first cancelling (negative) phrase of a
/// wording table.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Wording {
    pub(crate) best: Option<(f64, &'static str)>,
    pub(crate) cancelled_by: Option<&'static str>,
}

impl Wording {
    fn add(&mut self, table: &'static [(&'static str, f64)], i: usize) {
        let Some(&(phrase, points)) = table.get(i) else {
            return;
        };
        if points < 0.0 {
            self.cancelled_by.get_or_insert(phrase);
        } else if self.best.is_none_or(|(b, _)| points > b) {
            self.best = Some((points, phrase));
        }
    }

    /// The best phrase's points, or 0 when a phrase cancels them.
    pub(crate) fn points(&self) -> f64 {
        match (self.cancelled_by, self.best) {
            (None, Some((p, _))) => p,
            _ => 0.0,
        }
    }

    /// Whether any phrase of the table was found.
    pub(crate) fn found(&self) -> bool {
        self.best.is_some() || self.cancelled_by.is_some()
    }
}

/// What the three tables found in some texts.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TextWording {
    pub(crate) urgency: Wording,
    pub(crate) budget: Wording,
    /// The distinct intent phrases found (bit `i`: phrase `i`)...
    intent_phrases: u64,
    /// ...and their weights' sum, added in the order they were found.
    intent_sum: f64,
    /// Whether every text read was blank (or none was given).
    blank: bool,
}

impl TextWording {
    /// Scans each text once. Phrases never span two texts.
    pub(crate) fn read<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut w = Self {
            blank: true,
            ..Self::default()
        };
        for text in texts {
            w.blank &= text.trim().is_empty();
            let Some(m) = MATCHER.as_ref() else {
                continue;
            };
            m.for_each_table_match(text, |table, i| match table {
                URGENCY => w.urgency.add(URGENCY_PHRASES, i),
                BUDGET => w.budget.add(BUDGET_PHRASES, i),
                INTENT => {
                    let bit = 1u64 << i;
                    if w.intent_phrases & bit == 0 {
                        w.intent_phrases |= bit;
                        w.intent_sum += INTENT_PHRASES.get(i).map_or(0.0, |&(_, w)| w);
                    }
                }
                _ => {}
            });
        }
        w
    }

    /// Buying intent 0–5 from the intent phrases: each distinct phrase counts
    /// once (a text that says "demo" five times is not five times keener),
    /// the sum clamped to 0–5, so "not interested in pricing" reads 0.
    pub(crate) fn intent(&self) -> f64 {
        f64::clamp(self.intent_sum, 0.0, MAX_INTENT)
    }

    /// The offline estimator's assessment of the texts read:
    /// [`IntentFailure::NoText`] when all were blank, else [`Self::intent`].
    pub(crate) fn intent_assessment(&self) -> IntentAssessment {
        if self.blank {
            IntentAssessment::failed(IntentFailure::NoText)
        } else {
            IntentAssessment::answered(self.intent(), IntentSource::Offline)
        }
    }
}
