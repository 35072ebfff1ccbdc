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
    // One-byte values are the majority (small IDs and sequence numbers); timestamp deltas
    // mostly take two or three bytes.
    match buf.get(pos) {
        Some(&b) if b < 0x80 => Ok((u64::from(b), pos + 1)),
        Some(_) => match buf.get(pos..pos + MAX_VARINT_LEN) {
            Some(window) => read_uvarint_window(window.try_into().expect("ten bytes"), pos),
            None => read_uvarint_slow(buf, pos),
        },
        None => Err(VarintError::Eof),
    }
}

/// Decodes a uvarint of two or more bytes when ten bytes are available, so that no byte
/// needs its own bounds check.
#[inline(always)]
fn read_uvarint_window(window: &[u8; MAX_VARINT_LEN], pos: usize) -> Result<(u64, usize), VarintError> {
    let mut value = u64::from(window[0] & 0x7f);
    for (i, &b) in window.iter().enumerate().skip(1) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            if i == MAX_VARINT_LEN - 1 && b > 1 {
                return Err(VarintError::Overflow);
            }
            return Ok((value, pos + i + 1));
        }
    }
    Err(VarintError::Overflow)
}

#[cold]
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
        fn window_and_slow_paths_agree(bytes in proptest::collection::vec(any::<u8>(), 10..12)) {
            // The same bytes decoded with ten bytes available and with only the varint's own.
            let whole = read_uvarint(&bytes, 0);
            let slow = read_uvarint_slow(&bytes, 0);
            prop_assert_eq!(whole, slow);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..16)) {
            if let Ok((_, end)) = read_uvarint(&bytes, 0) {
                prop_assert!(end <= bytes.len() && end <= MAX_VARINT_LEN);
            }
        }
    }
}
