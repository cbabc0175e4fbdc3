//! `POST /v1/score` with `Accept: application/x-ndjson`: results as they finish.
//!
//! The batch is cut into units that must be scored together: the adjacent samples of one GRPO
//! group (their advantages and group-stage terms need each other), and runs of up to 64
//! ungrouped samples. Units are scored concurrently; each finished unit writes one line per
//! sample, `{"index": <position in the request>, ...the /v1/score object...}`, so lines come in
//! completion order. A client that disconnects drops the stream, which cancels the units still
//! running.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gavel_core::{Outcome, Record, Sample};
use gavel_policy::Policy;
use tokio::sync::mpsc;

use crate::{Entry, Slot};

/// Ungrouped samples scored together in one unit.
const UNGROUPED_UNIT: usize = 64;

pub(crate) fn respond(slot: Slot, policy: Arc<Policy>, entries: Vec<Entry>, step: f64) -> Response {
    let (lines, receiver) = mpsc::channel::<Bytes>(16);
    tokio::spawn(drive(slot, policy, entries, step, lines));
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|line| (Ok::<_, Infallible>(line), receiver))
    });
    ([(header::CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(body)).into_response()
}

fn line(index: usize, id: &str, outcome: &Outcome, advantage: Option<Option<f64>>) -> Bytes {
    let record =
        serde_json::to_value(Record { id, outcome, advantage }).expect("records serialise");
    let mut object = serde_json::Map::new();
    object.insert("index".into(), index.into());
    if let serde_json::Value::Object(fields) = record {
        object.extend(fields);
    }
    let mut text = serde_json::to_string(&object).expect("a map serialises");
    text.push('\n');
    Bytes::from(text)
}

/// Cuts the samples into units: (positions in the request, samples).
fn units(entries: &[Entry]) -> Vec<(Vec<usize>, Vec<Sample>)> {
    let mut units: Vec<(Vec<usize>, Vec<Sample>)> = Vec::new();
    let mut open_group: Option<String> = None;
    for (i, entry) in entries.iter().enumerate() {
        let Ok(sample) = entry else { continue };
        let joins = match (&open_group, &sample.group, units.last()) {
            (Some(g), Some(h), Some(_)) => g == h,
            (None, None, Some((positions, _))) => positions.len() < UNGROUPED_UNIT,
            _ => false,
        };
        if !joins {
            units.push((Vec::new(), Vec::new()));
            open_group = sample.group.clone();
        }
        let unit = units.last_mut().expect("a unit is open");
        unit.0.push(i);
        unit.1.push(sample.clone());
    }
    units
}

async fn drive(
    slot: Slot,
    policy: Arc<Policy>,
    entries: Vec<Entry>,
    step: f64,
    lines: mpsc::Sender<Bytes>,
) {
    let with_advantage = policy.has_advantage();
    for (i, entry) in entries.iter().enumerate() {
        if let Err((id, outcome)) = entry {
            slot.shared.metrics.outcome(outcome);
            if lines.send(line(i, id, outcome, with_advantage.then_some(None))).await.is_err() {
                return;
            }
        }
    }
    let mut running = tokio::task::JoinSet::new();
    for (positions, samples) in units(&entries) {
        let policy = policy.clone();
        running.spawn(async move {
            let scored = policy.score(&samples, step).await;
            (positions, samples, scored)
        });
    }
    loop {
        // The client went away: dropping `running` cancels the units still scoring, without
        // waiting for one to finish first.
        let done = tokio::select! {
            done = running.join_next() => done,
            () = lines.closed() => return,
        };
        let Some(done) = done else { break };
        let Ok((positions, samples, scored)) = done else { continue };
        for ((i, sample), s) in positions.into_iter().zip(&samples).zip(scored) {
            slot.shared.metrics.outcome(&s.outcome);
            let advantage = with_advantage.then_some(s.advantage);
            if lines.send(line(i, &sample.id, &s.outcome, advantage)).await.is_err() {
                return;
            }
        }
    }
    slot.shared
        .metrics
        .samples
        .fetch_add(entries.len() as u64, std::sync::atomic::Ordering::Relaxed);
}
