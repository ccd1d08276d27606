//! Reading the LLM's reply: a bare number 0–5, or a number inside text.
//!
//! Models asked for "a single number" still answer "I'd rate this 4 out of 5"
//! or "On a scale of 0 to 5, I'd say 3". The parser takes the first number
//! that is not part of a scale: numbers after "out of", "of", "/" or "to", and
//! the start of a range ("0 to 5", "0-5") are skipped. Anything else is
//! rejected with a reason: no number at all, or the number outside 0–5
//! ("8/10" is 8, out of range, rather than guessed at). A reasoning model's
//! `<think>…</think>` block is skipped.

use super::{IntentFailure, MAX_INTENT};

/// Parses a reply into an intent 0–5.
///
/// # Errors
/// [`IntentFailure::NoNumber`] or [`IntentFailure::OutOfRange`].
pub fn parse_intent_reply(reply: &str) -> Result<f64, IntentFailure> {
    // Reasoning models (DeepSeek-R1, Qwen3 on Ollama) think aloud first; only
    // what follows the thinking is the answer.
    let reply = match reply.rfind("</think>") {
        Some(at) => &reply[at + "</think>".len()..],
        None => reply,
    };
    let bytes = reply.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        // Fraction only when a digit follows the dot ("3." ends a sentence).
        if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
        let end = i;
        // Digits glued to letters ("gpt4", "3rd", "Q3") are not the answer.
        let glued = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphabetic());
        if glued(start.checked_sub(1).and_then(|p| bytes.get(p))) || glued(bytes.get(end)) {
            continue;
        }
        if is_scale_bound(reply, start, end) {
            continue;
        }
        let negative =
            start > 0 && bytes[start - 1] == b'-' && !preceded_by_number(reply, start - 1);
        let Ok(mut value) = reply[start..end].parse::<f64>() else {
            continue;
        };
        if negative {
            value = -value;
        }
        return if (0.0..=MAX_INTENT).contains(&value) {
            Ok(value)
        } else {
            Err(IntentFailure::OutOfRange { value })
        };
    }
    Err(IntentFailure::NoNumber)
}

/// True if the number at `start..end` is a scale's bound rather than an answer.
fn is_scale_bound(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].trim_end().to_ascii_lowercase();
    let after = text[end..].trim_start().to_ascii_lowercase();
    let ends_with_word = |w: &str| {
        before.ends_with(w)
            && before[..before.len() - w.len()]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric())
    };
    // "out of 5", "scale of 0", "/5", "to 5" (end of a range)
    if before.ends_with('/') || ends_with_word("of") || ends_with_word("to") {
        return true;
    }
    // "5" in "0-5" or "0–5": end of a range.
    if let Some(rest) = before
        .strip_suffix('-')
        .or_else(|| before.strip_suffix('–'))
        && rest
            .trim_end()
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_digit())
    {
        return true;
    }
    // "0" in "0 to 5", "0-5", "0–5": start of a range.
    let next_is_digit = |s: &str| {
        s.trim_start()
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    };
    if let Some(rest) = after.strip_prefix("to ") {
        return next_is_digit(rest);
    }
    if let Some(rest) = after.strip_prefix('-').or_else(|| after.strip_prefix('–')) {
        return next_is_digit(rest);
    }
    false
}

/// True when the text before byte `pos` (ignoring spaces) ends with a digit.
fn preceded_by_number(text: &str, pos: usize) -> bool {
    text.get(..pos)
        .and_then(|s| s.trim_end().chars().next_back())
        .is_some_and(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_numbers() {
        assert_eq!(parse_intent_reply("4"), Ok(4.0));
        assert_eq!(parse_intent_reply(" 0 \n"), Ok(0.0));
        assert_eq!(parse_intent_reply("5"), Ok(5.0));
        assert_eq!(parse_intent_reply("3.5"), Ok(3.5));
        assert_eq!(parse_intent_reply("**2**"), Ok(2.0));
    }

    #[test]
    fn numbers_inside_text() {
        assert_eq!(parse_intent_reply("Intent: 4."), Ok(4.0));
        assert_eq!(parse_intent_reply("I'd rate this 4 out of 5."), Ok(4.0));
        assert_eq!(parse_intent_reply("Score: 3/5"), Ok(3.0));
        assert_eq!(
            parse_intent_reply("On a scale of 0 to 5, I'd say 3."),
            Ok(3.0)
        );
        assert_eq!(parse_intent_reply("Scale 0-5: 2"), Ok(2.0));
        assert_eq!(parse_intent_reply("Scale 0–5: 2"), Ok(2.0));
        assert_eq!(parse_intent_reply("Using gpt4, the intent is 1"), Ok(1.0));
    }

    #[test]
    fn thinking_before_the_answer_is_skipped() {
        assert_eq!(
            parse_intent_reply("<think>They mention 2 vendors and 10 seats.</think>\n4"),
            Ok(4.0)
        );
        assert_eq!(
            parse_intent_reply("<think>7 signals</think> no idea"),
            Err(IntentFailure::NoNumber)
        );
    }

    #[test]
    fn rejects_with_a_reason() {
        assert_eq!(
            parse_intent_reply("The lead seems keen."),
            Err(IntentFailure::NoNumber)
        );
        assert_eq!(parse_intent_reply(""), Err(IntentFailure::NoNumber));
        assert_eq!(
            parse_intent_reply("7"),
            Err(IntentFailure::OutOfRange { value: 7.0 })
        );
        assert_eq!(
            parse_intent_reply("8/10"),
            Err(IntentFailure::OutOfRange { value: 8.0 })
        );
        assert_eq!(
            parse_intent_reply("5.5"),
            Err(IntentFailure::OutOfRange { value: 5.5 })
        );
        assert_eq!(
            parse_intent_reply("-1"),
            Err(IntentFailure::OutOfRange { value: -1.0 })
        );
        assert_eq!(
            parse_intent_reply("99999999999999999999999"),
            Err(IntentFailure::OutOfRange { value: 1e23 })
        );
    }

    #[test]
    fn odd_input_does_not_panic() {
        for s in [
            "–",
            "-",
            "/",
            "of",
            "ünïcödé 3 é",
            "3–",
            "–3",
            "to 3",
            "1 to",
            "日本 2",
        ] {
            let _ = parse_intent_reply(s);
        }
        assert_eq!(parse_intent_reply("ünïcödé 3 é"), Ok(3.0));
        assert_eq!(parse_intent_reply("日本 2"), Ok(2.0));
    }
}
