//! Batches as the daemon and the Python package receive them: a JSON array of samples in, a
//! JSON array of result records out, a malformed element becoming an `invalid` record in its
//! place rather than failing the batch.

use serde_json::value::RawValue;

use crate::{Outcome, Record, Sample};

/// One element of a batch: a sample, or the id and `invalid` outcome of an element that is not
/// one.
pub type Entry = Result<Sample, (String, Outcome)>;

/// Reads each element of a JSON array as a sample; one that is not names its position.
pub fn read_entries(items: &[Box<RawValue>]) -> Vec<Entry> {
    items
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            Sample::from_json_line(raw.get()).map_err(|e| {
                let id = e.id.clone().unwrap_or_else(|| format!("#{i}"));
                (id, Outcome::invalid(format!("sample {i}: {}", e.message)))
            })
        })
        .collect()
}

/// The samples of the entries that are samples, in order.
pub fn samples(entries: &[Entry]) -> Vec<Sample> {
    entries.iter().filter_map(|e| e.as_ref().ok().cloned()).collect()
}

/// The records of a batch as a JSON array, in order: `results` holds one (outcome, advantage)
/// per sample entry; `with_advantage` adds the `advantage` field to every record.
pub fn write_records(
    entries: &[Entry],
    results: impl IntoIterator<Item = (Outcome, Option<f64>)>,
    with_advantage: bool,
) -> String {
    let records = map_records(entries, results, with_advantage, |record| {
        serde_json::to_string(&record).expect("records serialise")
    });
    format!("[{}]", records.join(","))
}

/// `f` of each entry's record, in order: a sample entry's with the next of `results` (one
/// (outcome, advantage) per sample entry), an invalid entry's with its own outcome;
/// `with_advantage` gives every record an `advantage` field.
pub fn map_records<R>(
    entries: &[Entry],
    results: impl IntoIterator<Item = (Outcome, Option<f64>)>,
    with_advantage: bool,
    mut f: impl FnMut(Record<'_>) -> R,
) -> Vec<R> {
    let mut results = results.into_iter();
    entries
        .iter()
        .map(|entry| {
            let (id, outcome, advantage) = match entry {
                Ok(sample) => {
                    let (outcome, advantage) = results.next().expect("one result per sample");
                    (sample.id.as_str(), outcome, advantage)
                }
                Err((id, outcome)) => (id.as_str(), outcome.clone(), None),
            };
            f(Record { id, outcome: &outcome, advantage: with_advantage.then_some(advantage) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_elements_keep_their_place() {
        let items: Vec<Box<RawValue>> =
            serde_json::from_str(r#"[{"id": "a", "completion": "x"}, {"id": "b"}, 3]"#).unwrap();
        let entries = read_entries(&items);
        assert_eq!(samples(&entries).len(), 1);
        let text = write_records(&entries, [(Outcome::scored(1.0), Some(0.5))], true);
        let records: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(records[0]["advantage"], 0.5);
        assert_eq!(
            (records[1]["id"].as_str(), records[1]["status"].as_str()),
            (Some("b"), Some("invalid"))
        );
        assert_eq!(records[2]["id"], "#2");
        assert!(records[2]["advantage"].is_null());
    }
}
