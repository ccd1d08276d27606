//! CSV input and the `sentiment score` output, behind a real CSV parser:
//! customer texts carry quotes, commas and newlines, so no line splitting.
//!
//! Readers and writers are passed in; opening files is the caller's business.

use std::io::{Read, Write};

use crate::label::Label;
use crate::{Error, Result, SentimentIntensityAnalyzer};

fn reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input)
}

fn column_index<R: Read>(rdr: &mut csv::Reader<R>, column: &str) -> Result<usize> {
    let headers = rdr.headers()?;
    headers
        .iter()
        .position(|h| h == column)
        .ok_or_else(|| Error::MissingColumn {
            column: column.to_owned(),
            found: headers.iter().collect::<Vec<_>>().join(","),
        })
}

/// All values of one column, in row order.
pub fn read_column<R: Read>(input: R, column: &str) -> Result<Vec<String>> {
    let mut rdr = reader(input);
    let idx = column_index(&mut rdr, column)?;
    let mut out = Vec::new();
    for record in rdr.records() {
        out.push(record?.get(idx).unwrap_or_default().to_owned());
    }
    Ok(out)
}

/// A labelled example set read from CSV (`text,label` plus any other columns).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelledData {
    /// The texts, in row order.
    pub texts: Vec<String>,
    /// One label per text.
    pub labels: Vec<Label>,
    /// The `source` column when present (used to stratify the split), else empty.
    pub sources: Vec<String>,
}

/// Read `text` and `label` columns (and `source` when present); labels are
/// parsed with [`Label::parse`], an unknown one is an error naming its row.
pub fn read_labelled<R: Read>(input: R) -> Result<LabelledData> {
    let mut rdr = reader(input);
    let t = column_index(&mut rdr, "text")?;
    let l = column_index(&mut rdr, "label")?;
    let s = rdr.headers()?.iter().position(|h| h == "source");
    let mut data = LabelledData::default();
    for (row, record) in rdr.records().enumerate() {
        let record = record?;
        let raw = record.get(l).unwrap_or_default();
        let label = Label::parse(raw).ok_or_else(|| Error::UnknownLabel {
            row: row + 1,
            label: raw.to_owned(),
        })?;
        data.texts
            .push(record.get(t).unwrap_or_default().to_owned());
        data.labels.push(label);
        if let Some(s) = s {
            data.sources
                .push(record.get(s).unwrap_or_default().to_owned());
        }
    }
    Ok(data)
}

/// `neuracrm sentiment score --csv FILE [--column text]`: one line per input
/// row, in input order, `neg,neu,pos,compound`, no header. Each value is
/// VADER's rounded score (Python's `round(x, 3)` / `round(x, 4)`) printed
/// with four decimals exactly as Python's `f"{x:.4f}"` would print it, so the
/// output can be diffed line by line against
/// `f"{s['neg']:.4f},{s['neu']:.4f},{s['pos']:.4f},{s['compound']:.4f}"`.
/// Returns the number of rows written.
pub fn score_csv<R: Read, W: Write>(
    vader: &SentimentIntensityAnalyzer,
    input: R,
    column: &str,
    mut out: W,
) -> Result<usize> {
    let mut rdr = reader(input);
    let idx = column_index(&mut rdr, column)?;
    let mut n = 0;
    let mut record = csv::StringRecord::new();
    while rdr.read_record(&mut record)? {
        let scores = vader.polarity_scores(record.get(idx).unwrap_or_default());
        writeln!(out, "{}", scores.to_csv_line())?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_with_commas_quotes_and_newlines_are_one_row() {
        let csv = "id,text\n1,\"Great call, \"\"really\"\"\nthanks!\"\n2,awful\n";
        let texts = read_column(csv.as_bytes(), "text").unwrap();
        assert_eq!(texts, ["Great call, \"really\"\nthanks!", "awful"]);
    }

    #[test]
    fn score_csv_writes_one_line_per_row_in_order() {
        let vader = SentimentIntensityAnalyzer::new();
        let csv = "text\n\"good, very good\"\n\"\"\nbad\n";
        let mut out = Vec::new();
        let n = score_csv(&vader, csv.as_bytes(), "text", &mut out).unwrap();
        assert_eq!(n, 3);
        let out = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        // Python vaderSentiment 3.3.2: polarity_scores("bad") ==
        // {'neg': 1.0, 'neu': 0.0, 'pos': 0.0, 'compound': -0.5423}
        assert_eq!(lines[1], "0.0000,0.0000,0.0000,0.0000");
        assert_eq!(lines[2], "1.0000,0.0000,0.0000,-0.5423");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn utf8_bom_does_not_hide_the_first_column() {
        let texts = read_column("\u{feff}text,label\ngood,pos\n".as_bytes(), "text").unwrap();
        assert_eq!(texts, ["good"]);
    }

    #[test]
    fn missing_column_is_named() {
        let err = read_column("a,b\n1,2\n".as_bytes(), "text").unwrap_err();
        assert!(
            matches!(err, Error::MissingColumn { ref column, ref found } if column == "text" && found == "a,b")
        );
    }

    #[test]
    fn unknown_label_names_its_row() {
        let err = read_labelled("text,label\nx,pos\ny,meh\n".as_bytes()).unwrap_err();
        assert!(matches!(err, Error::UnknownLabel { row: 2, .. }));
    }
}
