//! A cheap hasher for small integer keys: stream IDs and handle addresses.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map keyed by stream IDs or other small integers, hashed with [`IdHasher`].
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// A cheap hasher for stream IDs and handle addresses (SipHash showed up in profiles of the
/// data path). The peer chooses stream IDs but can create no more streams than our limits
/// allow, which bounds any collision games; handle addresses are ours.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        let p = u128::from(v ^ self.0) * 0x9e37_79b9_7f4a_7c15_u128;
        self.0 = (p as u64) ^ ((p >> 64) as u64);
    }

    fn write_usize(&mut self, v: usize) {
        // One multiply, as for a u64 (the default would hash the 8 bytes one by one).
        self.write_u64(v as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn a_usize_hashes_as_its_u64_in_one_step() {
        let b = BuildHasherDefault::<IdHasher>::default();
        let key: usize = 0x7f12_3456_7890;
        assert_eq!(b.hash_one(key), b.hash_one(key as u64));
    }
}
