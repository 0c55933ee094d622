//! Losses held on the device between read-backs.

use burn::prelude::*;

/// Losses of the steps since the last read-back. They stay on the device so that a step
/// never waits for the host; every `read_every` steps (or when asked to flush) they come
/// back as one tensor to read.
pub struct LossBuffer<B: Backend> {
    pending: Vec<Tensor<B, 1>>,
    read_every: usize,
}

impl<B: Backend> LossBuffer<B> {
    /// An empty buffer that fills up after `read_every` steps.
    pub fn new(read_every: usize) -> Self {
        Self {
            pending: vec![],
            read_every: read_every.max(1),
        }
    }

    /// Adds a step's loss; returns the gathered losses when it is time to read them.
    pub fn push(&mut self, loss: Tensor<B, 1>, flush: bool) -> Option<Tensor<B, 1>> {
        self.pending.push(loss);
        if self.pending.len() < self.read_every && !flush {
            return None;
        }
        self.flush()
    }

    /// The losses not yet read, if any.
    pub fn flush(&mut self) -> Option<Tensor<B, 1>> {
        if self.pending.is_empty() {
            return None;
        }
        Some(Tensor::cat(std::mem::take(&mut self.pending), 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;

    #[test]
    fn loss_buffer_flushes_what_waits() {
        let device = Default::default();
        let loss = |v: f32| Tensor::<Cpu, 1>::from_floats([v], &device);
        let mut buffer = LossBuffer::new(3);
        assert!(buffer.push(loss(1.0), false).is_none());
        assert!(buffer.push(loss(2.0), false).is_none());
        let read = buffer.push(loss(3.0), false).unwrap();
        assert_eq!(
            crate::io::readback::floats(read).unwrap(),
            vec![1.0, 2.0, 3.0]
        );
        assert!(buffer.flush().is_none());
        let read = buffer.push(loss(4.0), true).unwrap();
        assert_eq!(crate::io::readback::floats(read).unwrap(), vec![4.0]);
    }
}
