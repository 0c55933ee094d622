//! Checkpoints: model, optimiser and training state in one file, written atomically.
//!
//! Layout: the magic `SIMCLRCK`, a format version (u32 LE), then three length-prefixed
//! (u64 LE) sections: the training state as JSON, the model record, the optimiser record
//! (both Burn records in named MessagePack at full precision).

use crate::train::optim::ModuleOptimizer;
use crate::{Error, Result};
use burn::module::AutodiffModule;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Record, Recorder};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::backend::Backend;
use std::path::Path;

const MAGIC: &[u8; 8] = b"SIMCLRCK";
const VERSION: u32 = 1;

/// The three sections of a checkpoint, still serialised.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointBytes {
    /// Training state (JSON).
    pub state: Vec<u8>,
    /// Model record.
    pub model: Vec<u8>,
    /// Optimiser record.
    pub optimizer: Vec<u8>,
}

impl CheckpointBytes {
    /// The file contents.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.model.len() + self.optimizer.len() + 64);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        for section in [&self.state, &self.model, &self.optimizer] {
            out.extend_from_slice(&(section.len() as u64).to_le_bytes());
            out.extend_from_slice(section);
        }
        out
    }

    /// Parses file contents; `path` names the file in errors.
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Self> {
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(Error::format(path, "not a simclr checkpoint"));
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version != VERSION {
            return Err(Error::format(
                path,
                format!("checkpoint format {version} is not supported"),
            ));
        }
        let mut rest = &bytes[12..];
        let mut section = || -> Result<Vec<u8>> {
            let truncated = || Error::format(path, "truncated checkpoint");
            let len_bytes: [u8; 8] = rest
                .get(..8)
                .ok_or_else(truncated)?
                .try_into()
                .map_err(|_| truncated())?;
            let len = u64::from_le_bytes(len_bytes) as usize;
            let body = rest
                .get(8..8usize.saturating_add(len))
                .ok_or_else(truncated)?
                .to_vec();
            rest = &rest[8 + len..];
            Ok(body)
        };
        Ok(Self {
            state: section()?,
            model: section()?,
            optimizer: section()?,
        })
    }
}

type Bytes = NamedMpkBytesRecorder<FullPrecisionSettings>;

/// A Burn record (model or optimiser) as bytes.
pub fn record_to_bytes<B: Backend, R: Record<B>>(record: R) -> Result<Vec<u8>> {
    Recorder::<B>::record(&Bytes::default(), record, ()).map_err(|e| Error::encode("record", e))
}

/// A Burn record from bytes; `path` names the source in errors.
pub fn record_from_bytes<B: Backend, R: Record<B>>(
    bytes: Vec<u8>,
    device: &B::Device,
    path: &Path,
) -> Result<R> {
    Recorder::<B>::load(&Bytes::default(), bytes, device)
        .map_err(|e| Error::format(path, format!("unreadable record: {e}")))
}

/// A checkpoint of a training state, a model and its optimiser.
pub fn pack<B, M, S>(state: &S, model: &M, optim: &ModuleOptimizer<B, M>) -> Result<CheckpointBytes>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    S: serde::Serialize,
{
    Ok(CheckpointBytes {
        state: serde_json::to_vec(state).map_err(|e| Error::encode("training state", e))?,
        model: record_to_bytes::<B, _>(model.clone().into_record())?,
        optimizer: optim.to_bytes()?,
    })
}

/// State, model and optimiser restored from a checkpoint; `path` names it in errors.
pub fn unpack<B, M, S>(
    checkpoint: CheckpointBytes,
    model: M,
    optim: ModuleOptimizer<B, M>,
    device: &B::Device,
    path: &Path,
) -> Result<(S, M, ModuleOptimizer<B, M>)>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    S: serde::de::DeserializeOwned,
{
    let state = serde_json::from_slice(&checkpoint.state)
        .map_err(|e| Error::format(path, format!("bad training state: {e}")))?;
    let model = model.load_record(record_from_bytes::<B, _>(checkpoint.model, device, path)?);
    let optim = optim.load_bytes(checkpoint.optimizer, device, path)?;
    Ok((state, model, optim))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_round_trip_and_errors() {
        let ck = CheckpointBytes {
            state: b"{}".to_vec(),
            model: vec![1, 2, 3],
            optimizer: vec![],
        };
        let bytes = ck.encode();
        let path = Path::new("last.ckpt");
        assert_eq!(CheckpointBytes::decode(&bytes, path).unwrap(), ck);
        let err = CheckpointBytes::decode(&bytes[..bytes.len() - 9], path).unwrap_err();
        assert_eq!(err.to_string(), "last.ckpt: truncated checkpoint");
        let err = CheckpointBytes::decode(b"hello world!", path).unwrap_err();
        assert_eq!(err.to_string(), "last.ckpt: not a simclr checkpoint");
    }
}
