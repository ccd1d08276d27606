//! A small synthetic CRM data set, generated deterministically so that
//! training tests are fast and need no files.

use neuracrm_sentiment::{Label, LabelledData};

const POSITIVE: &[&str] = &[
    "great demo, the team loved it",
    "thanks for the quick fix, very happy",
    "renewal signed, excellent support",
    "the onboarding was smooth and helpful",
    "love the new dashboard, fantastic work",
];
const NEGATIVE: &[&str] = &[
    "the invoice is wrong again, very frustrated",
    "terrible support, still waiting for a reply",
    "the integration is broken and slow",
    "we are cancelling, awful experience",
    "angry about the outage and the delay",
];
const NEUTRAL: &[&str] = &[
    "meeting moved to tuesday at ten",
    "please send the contract to legal",
    "call scheduled with procurement next week",
    "the account owner changed to dana",
    "forwarding the quote for review",
];
const FILLER: &[&str] = &[
    "",
    " today",
    " per our call",
    " - sam",
    " cc finance",
    " ref 1182",
];

/// `n` rows cycling through the three classes, with filler for variety.
pub fn synthetic(n: usize) -> LabelledData {
    let mut data = LabelledData::default();
    for i in 0..n {
        let (label, pool) = match i % 3 {
            0 => (Label::Positive, POSITIVE),
            1 => (Label::Negative, NEGATIVE),
            _ => (Label::Neutral, NEUTRAL),
        };
        let text = format!(
            "{}{}",
            pool[(i / 3) % pool.len()],
            FILLER[(i * 7) % FILLER.len()]
        );
        data.texts.push(text);
        data.labels.push(label);
    }
    data
}
