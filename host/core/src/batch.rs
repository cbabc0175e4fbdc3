//! Batches as the daemon and the Python package receive them: a JSON array of samples in, a
//! JSON array of result records out, a malformed element becoming an `invalid` record in its
//! place rather than failing the batch.

use std::collections::HashMap;
use std::ops::Range;

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

/// Moves the samples out of the entries, in order, for a scorer that takes them by value; each
/// sample entry keeps only its id, which is all [`map_records`] reads of it afterwards.
pub fn take_samples(entries: &mut [Entry]) -> Vec<Sample> {
    entries
        .iter_mut()
        .filter_map(|entry| entry.as_mut().ok())
        .map(|sample| {
            let id = sample.id.clone();
            std::mem::replace(sample, Sample::new(id, String::new()))
        })
        .collect()
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

/// Consecutive ranges covering a batch whose samples are in `groups` (by GRPO group), each
/// at least `size` long but the last, cut only where no group goes on past the cut: scoring
/// the pieces apart gives the results of scoring the batch whole. Groups that interleave make
/// longer pieces, one piece at worst.
pub fn pieces_keeping_groups(groups: &[Option<String>], size: usize) -> Vec<Range<usize>> {
    let mut last = HashMap::new();
    for (i, group) in groups.iter().enumerate() {
        if let Some(group) = group {
            last.insert(group.as_str(), i);
        }
    }
    let mut pieces = Vec::new();
    let (mut start, mut open_until) = (0, 0);
    for (i, group) in groups.iter().enumerate() {
        if let Some(group) = group {
            open_until = open_until.max(last[group.as_str()]);
        }
        if open_until <= i && i + 1 - start >= size.max(1) {
            pieces.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < groups.len() {
        pieces.push(start..groups.len());
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_elements_keep_their_place() {
        let items: Vec<Box<RawValue>> =
            serde_json::from_str(r#"[{"id": "a", "completion": "x"}, {"id": "b"}, 3]"#).unwrap();
        let mut entries = read_entries(&items);
        assert_eq!(samples(&entries).len(), 1);
        let taken = take_samples(&mut entries);
        assert_eq!((taken.len(), taken[0].completion.as_str()), (1, "x"));
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

    fn groups(keys: &[Option<&str>]) -> Vec<Option<String>> {
        keys.iter().map(|k| k.map(str::to_owned)).collect()
    }

    #[test]
    fn pieces_are_cut_between_groups_only() {
        let (a, b, c) = (Some("a"), Some("b"), Some("c"));
        let cut = |keys: &[Option<&str>], size| pieces_keeping_groups(&groups(keys), size);
        assert_eq!(cut(&[a, a, b, b, c, c], 2), [0..2, 2..4, 4..6]);
        assert_eq!(cut(&[a, a, a, b, b, c], 2), [0..3, 3..5, 5..6]);
        assert_eq!(cut(&[None, None, None], 2), [0..2, 2..3]);
        assert_eq!(cut(&[a, b, a, b, c, c], 2), [0..4, 4..6]);
        assert_eq!(cut(&[a, None, None, None, a], 1), vec![Range { start: 0, end: 5 }]);
        assert_eq!(cut(&[], 64), Vec::<Range<usize>>::new());
    }

    proptest::proptest! {
        #[test]
        fn pieces_cover_the_batch_and_keep_every_group_whole(
            keys in proptest::collection::vec(proptest::option::of(0u8..6), 0..80),
            size in 0usize..20,
        ) {
            let groups: Vec<Option<String>> =
                keys.iter().map(|k| k.map(|k| k.to_string())).collect();
            let pieces = pieces_keeping_groups(&groups, size);
            let mut next = 0;
            for (n, piece) in pieces.iter().enumerate() {
                proptest::prop_assert_eq!(piece.start, next);
                proptest::prop_assert!(piece.len() >= size.max(1) || n + 1 == pieces.len());
                next = piece.end;
            }
            proptest::prop_assert_eq!(next, groups.len());
            for (i, group) in groups.iter().enumerate().filter(|(_, g)| g.is_some()) {
                let piece = pieces.iter().find(|p| p.contains(&i)).unwrap();
                for (j, other) in groups.iter().enumerate() {
                    proptest::prop_assert!(other != group || piece.contains(&j));
                }
            }
        }
    }
}
