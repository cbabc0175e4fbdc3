//! Checkpoint tensors: every `*.safetensors` shard of a checkpoint, in bf16, f16 or f32, read
//! into f32.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use crate::PrmError;

/// A row-major f32 tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// The values.
    pub data: Vec<f32>,
}

/// The tensors of a checkpoint, by name.
#[derive(Debug, Default)]
pub struct Weights {
    tensors: HashMap<String, Tensor>,
}

impl Weights {
    /// The weight files of the checkpoint in `dir`: the shards its `model.safetensors.index.json`
    /// names, else `model.safetensors`, else every `*.safetensors` file.
    pub fn files(dir: &Path) -> Result<Vec<PathBuf>, PrmError> {
        let index = dir.join("model.safetensors.index.json");
        if index.is_file() {
            let text = std::fs::read_to_string(&index).map_err(|e| PrmError::io(&index, e))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| PrmError::Weights(format!("{}: {e}", index.display())))?;
            let map = value["weight_map"]
                .as_object()
                .ok_or_else(|| PrmError::Weights(format!("{}: no weight_map", index.display())))?;
            let mut files: Vec<PathBuf> =
                map.values().filter_map(|v| v.as_str()).map(|f| dir.join(f)).collect();
            files.sort();
            files.dedup();
            return Ok(files);
        }
        let single = dir.join("model.safetensors");
        if single.is_file() {
            return Ok(vec![single]);
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| PrmError::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(PrmError::Weights(format!("no *.safetensors file in {}", dir.display())));
        }
        Ok(files)
    }

    /// Reads `files`.
    pub fn load(files: &[PathBuf]) -> Result<Self, PrmError> {
        let mut tensors = HashMap::new();
        for file in files {
            let bytes = std::fs::read(file).map_err(|e| PrmError::io(file, e))?;
            let st = SafeTensors::deserialize(&bytes)
                .map_err(|e| PrmError::Weights(format!("{}: {e}", file.display())))?;
            for (name, view) in st.tensors() {
                let data = to_f32(view.dtype(), view.data())
                    .map_err(|e| PrmError::Weights(format!("{}: {name}: {e}", file.display())))?;
                tensors.insert(name, Tensor { shape: view.shape().to_vec(), data });
            }
        }
        Ok(Self { tensors })
    }

    /// Whether a tensor named `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// Takes the tensor `name`, checking its shape.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Tensor, PrmError> {
        let tensor = self
            .tensors
            .remove(name)
            .ok_or_else(|| PrmError::Weights(format!("missing tensor {name}")))?;
        if tensor.shape != shape {
            return Err(PrmError::Weights(format!(
                "tensor {name} has shape {:?}, the config implies {shape:?}",
                tensor.shape
            )));
        }
        Ok(tensor)
    }

    /// Takes the first of `names` that exists.
    pub fn take_any(&mut self, names: &[&str], shape: &[usize]) -> Result<Tensor, PrmError> {
        match names.iter().find(|n| self.has(n)) {
            Some(name) => self.take(name, shape),
            None => Err(PrmError::Weights(format!("missing tensor {}", names.join(" or ")))),
        }
    }
}

fn to_f32(dtype: Dtype, bytes: &[u8]) -> Result<Vec<f32>, String> {
    let words = |n: usize| bytes.chunks_exact(n);
    Ok(match dtype {
        Dtype::F32 => words(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        Dtype::BF16 => words(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        Dtype::F16 => words(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        other => return Err(format!("dtype {other:?} is not supported (bf16, f16, f32)")),
    })
}
