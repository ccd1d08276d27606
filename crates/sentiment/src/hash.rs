//! A small, fast, non-cryptographic hasher for our lookup tables.
//!
//! The lexicon and vocabulary are fixed, trusted tables probed once per
//! token; SipHash's flood resistance buys nothing there and costs a third of
//! VADER's run time. This is the FxHash multiply-rotate scheme (rustc's),
//! written out here to keep the dependency list short.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// `HashMap` keyed with [`FxHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// FxHash: `h = (h.rotl(5) ^ word) * SEED` over 8-byte words.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(buf));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_keys_stay_distinct() {
        let mut m: FastMap<Box<str>, u32> = FastMap::default();
        for (i, w) in ["a", "ab", "abcdefgh", "abcdefghi", "b"].iter().enumerate() {
            m.insert(Box::from(*w), i as u32);
        }
        assert_eq!(m.len(), 5);
        assert_eq!(m.get("abcdefghi"), Some(&3));
        assert_eq!(m.get("abcdefg"), None);
    }
}
