//! Golden files: the step scores transformers computed for a fixture checkpoint
//! (`fixtures/*/golden.json`, written by `fixtures/make_fixtures.py`), and how far a loaded PRM
//! is from them. Used by the tests and by the GPU check, which runs where no test harness is.

use std::path::Path;

use crate::{Prm, PrmError};

/// One list of cases of a golden file.
#[derive(Debug, Clone)]
pub struct Golden {
    /// The step token's id.
    pub step_token: u32,
    /// Input ids and the expected P(good) at each step.
    pub cases: Vec<(Vec<u32>, Vec<f64>)>,
}

impl Golden {
    /// Reads the cases under `key` (`cases`: transformers in f32; `bf16_cases`: in bf16) of
    /// `dir/golden.json`.
    pub fn load(dir: &Path, key: &str) -> Result<Self, PrmError> {
        let path = dir.join("golden.json");
        let text = std::fs::read_to_string(&path).map_err(|e| PrmError::io(&path, e))?;
        let bad = |why: &str| PrmError::Input(format!("{}: {why}", path.display()));
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
        let step_token =
            value["step_token_id"].as_u64().ok_or_else(|| bad("no step_token_id"))? as u32;
        let numbers = |v: &serde_json::Value| -> Option<Vec<f64>> {
            v.as_array()?.iter().map(serde_json::Value::as_f64).collect()
        };
        let cases = value[key]
            .as_array()
            .ok_or_else(|| bad(&format!("no {key}")))?
            .iter()
            .map(|case| {
                let ids = numbers(&case["input_ids"])?.into_iter().map(|x| x as u32).collect();
                Some((ids, numbers(&case["step_scores"])?))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad(&format!("a case of {key} is malformed")))?;
        Ok(Self { step_token, cases })
    }

    /// The largest |Δp| between `prm`'s step scores (all cases scored as one batch) and the
    /// golden ones; an error when a case fails or has a different number of steps.
    pub fn worst_difference(&self, prm: &Prm) -> Result<f64, String> {
        let inputs: Vec<(&[u32], u32)> =
            self.cases.iter().map(|(ids, _)| (ids.as_slice(), self.step_token)).collect();
        let mut worst = 0.0f64;
        for (got, (_, want)) in prm.score_batch(&inputs).into_iter().zip(&self.cases) {
            let got = got.map_err(|e| e.to_string())?.step_scores;
            if got.len() != want.len() {
                return Err(format!("{} step scores, {} expected", got.len(), want.len()));
            }
            for (g, w) in got.iter().zip(want) {
                worst = worst.max((g - w).abs());
            }
        }
        Ok(worst)
    }
}
