//! Checkpoints: model, optimiser and training state in one file, written atomically.
//!
//! Layout (format 2): the magic `SIMCLRCK`, the format version (u32 LE), the CRC-32 of
//! everything after it (u32 LE), then four length-prefixed (u64 LE) sections: the
//! training state as JSON, the model record, the optimiser record (both Burn records in
//! named MessagePack at full precision) and the model's shape signature as JSON. Format 1
//! (no checksum, no signature) is still read.

use crate::error::CheckpointProblem;
use crate::io::contain::contained;
use crate::train::optim::ModuleOptimizer;
use crate::train::signature::{check_signature, shape_signature};
use crate::{Error, Result};
use burn::module::{AutodiffModule, Module};
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Record, Recorder};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::backend::Backend;
use std::path::Path;

const MAGIC: &[u8; 8] = b"SIMCLRCK";
const VERSION: u32 = 2;
/// Magic and version.
const HEAD: usize = 12;

/// The sections of a checkpoint, still serialised.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointBytes {
    /// Training state (JSON).
    pub state: Vec<u8>,
    /// Model record.
    pub model: Vec<u8>,
    /// Optimiser record.
    pub optimizer: Vec<u8>,
    /// The saved model's shape signature (each parameter's path and shape); empty in
    /// format 1 files (not checked).
    pub signature: Vec<String>,
}

impl CheckpointBytes {
    /// The file contents.
    pub fn encode(&self) -> Vec<u8> {
        let signature = serde_json::to_vec(&self.signature).unwrap_or_default();
        let mut body = Vec::with_capacity(self.model.len() + self.optimizer.len() + 64);
        for section in [&self.state, &self.model, &self.optimizer, &signature] {
            body.extend_from_slice(&(section.len() as u64).to_le_bytes());
            body.extend_from_slice(section);
        }
        let mut out = Vec::with_capacity(body.len() + HEAD + 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Parses file contents; `path` names the file in errors. A file whose checksum does
    /// not match (damaged on disk or in a copy) is refused before anything is read from it.
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Self> {
        if bytes.len() < HEAD || &bytes[..8] != MAGIC {
            return Err(Error::checkpoint(path, CheckpointProblem::NotACheckpoint));
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let body = match version {
            1 => &bytes[HEAD..],
            VERSION => {
                let crc = bytes
                    .get(HEAD..HEAD + 4)
                    .ok_or_else(|| Error::checkpoint(path, CheckpointProblem::Truncated))?;
                let body = &bytes[HEAD + 4..];
                if crc32fast::hash(body).to_le_bytes() != crc {
                    return Err(Error::checkpoint(path, CheckpointProblem::Damaged));
                }
                body
            }
            _ => {
                return Err(Error::checkpoint(
                    path,
                    CheckpointProblem::UnsupportedFormat(version),
                ))
            }
        };
        let mut sections = Sections { rest: body, path };
        let (state, model, optimizer) = (sections.next()?, sections.next()?, sections.next()?);
        let signature = if version == 1 {
            vec![]
        } else {
            serde_json::from_slice(&sections.next()?)
                .map_err(|e| unreadable(path, "shape signature", e))?
        };
        Ok(Self {
            state,
            model,
            optimizer,
            signature,
        })
    }
}

/// Length-prefixed sections read one after the other.
struct Sections<'a> {
    rest: &'a [u8],
    path: &'a Path,
}

impl Sections<'_> {
    fn next(&mut self) -> Result<Vec<u8>> {
        let truncated = || Error::checkpoint(self.path, CheckpointProblem::Truncated);
        let len_bytes: [u8; 8] = self
            .rest
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(truncated)?;
        let len = usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| truncated())?;
        let body = self
            .rest
            .get(8..8usize.saturating_add(len))
            .ok_or_else(truncated)?;
        self.rest = &self.rest[8 + len..];
        Ok(body.to_vec())
    }
}

type Bytes = NamedMpkBytesRecorder<FullPrecisionSettings>;

/// A Burn record (model or optimiser) as bytes.
pub fn record_to_bytes<B: Backend, R: Record<B>>(record: R) -> Result<Vec<u8>> {
    Recorder::<B>::record(&Bytes::default(), record, ()).map_err(|e| Error::encode("record", e))
}

/// A Burn record from bytes; `path` names the source in errors. Burn's reader panics on
/// some malformed records (a bad parameter id): that is an error here too.
pub fn record_from_bytes<B: Backend, R: Record<B>>(
    bytes: Vec<u8>,
    device: &B::Device,
    path: &Path,
) -> Result<R> {
    contained(
        || {
            Recorder::<B>::load(&Bytes::default(), bytes, device)
                .map_err(|e| unreadable(path, "record", e))
        },
        |why| unreadable(path, "record", why),
    )
}

/// A section of the checkpoint at `path` that does not decode.
pub fn unreadable(path: &Path, section: &'static str, why: impl std::fmt::Display) -> Error {
    Error::checkpoint(
        path,
        CheckpointProblem::Unreadable {
            section,
            message: why.to_string(),
        },
    )
}

/// `model` with a checkpoint's model record (`bytes`, saved with `signature`) loaded. A
/// record of a model of another shape is refused before it is read, and a record whose own
/// shapes disagree with its signature after; `path` names the checkpoint in errors.
pub fn load_model<B: Backend, M: Module<B>>(
    model: M,
    bytes: Vec<u8>,
    signature: &[String],
    device: &B::Device,
    path: &Path,
) -> Result<M> {
    let expected = shape_signature::<B, _>(&model);
    // Format 1 checkpoints carry no signature.
    if !signature.is_empty() {
        check_signature(signature, &expected, path)?;
    }
    let model = model.load_record(record_from_bytes::<B, _>(bytes, device, path)?);
    check_signature(&shape_signature::<B, _>(&model), &expected, path)?;
    Ok(model)
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
        signature: shape_signature::<B, _>(model),
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
        .map_err(|e| unreadable(path, "training state", e))?;
    let model = load_model(model, checkpoint.model, &checkpoint.signature, device, path)?;
    let optim = optim.load_bytes(checkpoint.optimizer, device, path)?;
    Ok((state, model, optim))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> CheckpointBytes {
        CheckpointBytes {
            state: b"{}".to_vec(),
            model: vec![1, 2, 3],
            optimizer: vec![],
            signature: vec!["conv1.weight [4, 3, 3, 3]".into()],
        }
    }

    #[test]
    fn container_round_trip_and_errors() {
        let ck = example();
        let bytes = ck.encode();
        let path = Path::new("last.ckpt");
        assert_eq!(CheckpointBytes::decode(&bytes, path).unwrap(), ck);
        let err = CheckpointBytes::decode(b"hello world!", path).unwrap_err();
        assert_eq!(err.to_string(), "last.ckpt: not a simclr checkpoint");
        let err = CheckpointBytes::decode(&bytes[..HEAD + 2], path).unwrap_err();
        assert_eq!(err.to_string(), "last.ckpt: truncated checkpoint");
    }

    #[test]
    fn any_flipped_or_missing_byte_is_refused() {
        let bytes = example().encode();
        let path = Path::new("last.ckpt");
        for at in HEAD..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            assert!(
                CheckpointBytes::decode(&damaged, path).is_err(),
                "byte {at}"
            );
        }
        let err = CheckpointBytes::decode(&bytes[..bytes.len() - 1], path).unwrap_err();
        assert!(err.to_string().contains("damaged checkpoint"), "{err}");
    }

    #[test]
    fn format_1_files_still_load() {
        let ck = CheckpointBytes {
            signature: vec![],
            ..example()
        };
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        for section in [&ck.state, &ck.model, &ck.optimizer] {
            bytes.extend_from_slice(&(section.len() as u64).to_le_bytes());
            bytes.extend_from_slice(section);
        }
        assert_eq!(
            CheckpointBytes::decode(&bytes, Path::new("old.ckpt")).unwrap(),
            ck
        );
    }
}
