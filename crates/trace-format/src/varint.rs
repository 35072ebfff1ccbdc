//! Unsigned LEB128 ("uvarint") decoding, the hottest loop of the reader.

/// Why a uvarint could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarintError {
    /// The input ended before the first byte.
    Eof,
    /// The input ended after the first byte but before the last one.
    Truncated,
    /// The value does not fit in 64 bits (a tenth byte above 1, or an eleventh byte).
    Overflow,
}

/// The longest encoding Go accepts for a 64-bit value.
pub(crate) const MAX_VARINT_LEN: usize = 10;

/// Decodes the uvarint that starts at `pos`, returning its value and the position after it.
///
/// Non-minimal encodings are accepted because the Go runtime writes them (batch sizes are
/// always padded to ten bytes); the overflow rule is Go's `binary.ReadUvarint`.
#[inline(always)]
pub(crate) fn read_uvarint(buf: &[u8], pos: usize) -> Result<(u64, usize), VarintError> {
    // One-byte values are the overwhelming majority (small deltas, ids and sequence numbers).
    match buf.get(pos) {
        Some(&b) if b < 0x80 => Ok((u64::from(b), pos + 1)),
        Some(_) => read_uvarint_slow(buf, pos),
        None => Err(VarintError::Eof),
    }
}

#[inline(never)]
fn read_uvarint_slow(buf: &[u8], pos: usize) -> Result<(u64, usize), VarintError> {
    let mut value = 0u64;
    let mut shift = 0u32;
    for i in 0..MAX_VARINT_LEN {
        let Some(&b) = buf.get(pos + i) else {
            return Err(if i == 0 { VarintError::Eof } else { VarintError::Truncated });
        };
        if b < 0x80 {
            if i == MAX_VARINT_LEN - 1 && b > 1 {
                return Err(VarintError::Overflow);
            }
            return Ok((value | (u64::from(b) << shift), pos + i + 1));
        }
        value |= u64::from(b & 0x7f) << shift;
        shift += 7;
    }
    Err(VarintError::Overflow)
}

/// Appends the minimal uvarint encoding of `value` to `out`.
pub(crate) fn write_uvarint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends `value` padded to exactly [`MAX_VARINT_LEN`] bytes, as the runtime writes batch sizes.
pub(crate) fn write_uvarint_padded(out: &mut Vec<u8>, mut value: u64) {
    for _ in 0..MAX_VARINT_LEN - 1 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_encodings() {
        assert_eq!(read_uvarint(&[0], 0), Ok((0, 1)));
        assert_eq!(read_uvarint(&[0x7f], 0), Ok((127, 1)));
        assert_eq!(read_uvarint(&[0x80, 0x01], 0), Ok((128, 2)));
        // Non-minimal: 5 written in two bytes, as in Go's fuzz corpus.
        assert_eq!(read_uvarint(&[0x85, 0x00], 0), Ok((5, 2)));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(read_uvarint(&max, 0), Ok((u64::MAX, 10)));
    }

    #[test]
    fn errors_follow_go() {
        assert_eq!(read_uvarint(&[], 0), Err(VarintError::Eof));
        assert_eq!(read_uvarint(&[0x80], 0), Err(VarintError::Truncated));
        let tenth_too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(read_uvarint(&tenth_too_big, 0), Err(VarintError::Overflow));
        let eleven = [0x80; 11];
        assert_eq!(read_uvarint(&eleven, 0), Err(VarintError::Overflow));
    }

    proptest! {
        #[test]
        fn minimal_round_trip(value: u64, prefix in proptest::collection::vec(any::<u8>(), 0..4)) {
            let mut buf = prefix.clone();
            write_uvarint(&mut buf, value);
            let end = buf.len();
            buf.push(0xaa); // trailing data must not be consumed
            prop_assert_eq!(read_uvarint(&buf, prefix.len()), Ok((value, end)));
        }

        #[test]
        fn padded_round_trip(value: u64) {
            let mut buf = Vec::new();
            write_uvarint_padded(&mut buf, value);
            prop_assert_eq!(buf.len(), MAX_VARINT_LEN);
            prop_assert_eq!(read_uvarint(&buf, 0), Ok((value, MAX_VARINT_LEN)));
        }

        #[test]
        fn every_truncation_is_reported(value in 128u64.., cut in 1usize..10) {
            let mut buf = Vec::new();
            write_uvarint(&mut buf, value);
            let cut = cut.min(buf.len() - 1);
            prop_assert_eq!(read_uvarint(&buf[..cut], 0), Err(VarintError::Truncated));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            if let Ok((_, end)) = read_uvarint(&bytes, 0) {
                prop_assert!(end <= bytes.len() && end <= MAX_VARINT_LEN);
            }
        }
    }
}
