//! The body of a block: messages laid out column by column, before compression.
//!
//! `n: u32 | planar ids: u8 | keys, timestamps: deltas, packed importances: 8 byte planes each |`
//! `lengths of ids, roles, metadata, contents: 4 byte planes of n each | ids | roles | metadata | contents`
//!
//! Columns compress better than rows (ids beside ids, timestamps beside timestamps). A decoded
//! body is checked once ([`check_body`]) before any slot of it is read.

use super::blocks::{OwnedRecord, Record, MAX_BLOCK_LEN};

const STRING_COLUMNS: usize = 4;

/// Bytes before the numeric columns: the message count and the planar-ids flag.
const HEADER: usize = 5;

/// Writes `values` as `width` byte planes (all low bytes, then all next bytes, ...): in a
/// block, keys, timestamps and lengths share their high bytes, which then compress to nothing.
fn put_planes(out: &mut Vec<u8>, values: impl Iterator<Item = u64> + Clone, width: usize) {
    for j in 0..width {
        out.extend(values.clone().map(|v| (v >> (8 * j)) as u8));
    }
}

/// Reads value `slot` of a planar column of `n` values at `at`.
fn get_planar(body: &[u8], at: usize, n: usize, width: usize, slot: usize) -> Option<u64> {
    (0..width).try_fold(0u64, |v, j| Some(v | u64::from(*body.get(at + j * n + slot)?) << (8 * j)))
}

/// Each value minus the one before, wrapping (the first as it is): neighbouring keys differ by
/// one and neighbouring timestamps (as bits) by a little, so the deltas are mostly zero bytes.
/// Exact for any bit pattern.
fn deltas(values: impl Iterator<Item = u64> + Clone) -> impl Iterator<Item = u64> + Clone {
    let previous = std::iter::once(0).chain(values.clone());
    values.zip(previous).map(|(v, p)| v.wrapping_sub(p))
}

pub(super) fn encode(records: &[Record<'_>]) -> Vec<u8> {
    let n = records.len();
    let text: usize = records
        .iter()
        .map(|r| r.id.len() + r.role.len() + r.metadata.len() + r.content.len())
        .sum();
    // Ids of one length (ferromem's own are 24 hex digits) are stored planar too: their
    // time-ordered prefixes then line up and compress away.
    let id_len = records[0].id.len();
    let planar_ids = n > 1 && records.iter().all(|r| r.id.len() == id_len);
    let mut out = Vec::with_capacity(HEADER + n * (24 + 16) + text);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.push(u8::from(planar_ids));
    put_planes(&mut out, deltas(records.iter().map(|r| r.key)), 8);
    put_planes(&mut out, deltas(records.iter().map(|r| r.timestamp.to_bits())), 8);
    // Importances are not delta-coded: neighbouring scores are unrelated, and packed scores
    // (see `pack_importance`) already leave only their two low byte planes non-constant.
    put_planes(&mut out, records.iter().map(|r| pack_importance(r.importance)), 8);
    for c in 0..STRING_COLUMNS {
        put_planes(&mut out, records.iter().map(move |r| columns(r)[c].len() as u64), 4);
    }
    if planar_ids {
        for j in 0..id_len {
            out.extend(records.iter().map(|r| r.id.as_bytes()[j]));
        }
    }
    for c in usize::from(planar_ids)..STRING_COLUMNS {
        for r in records {
            out.extend_from_slice(columns(r)[c].as_bytes());
        }
    }
    out
}

fn columns<'a>(r: &Record<'a>) -> [&'a str; STRING_COLUMNS] {
    [r.id, r.role, r.metadata, r.content]
}

pub(super) fn read_u32(body: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(body.get(at..at + 4)?.try_into().ok()?))
}

/// The message count and where the lengths and strings start.
fn layout(body: &[u8]) -> std::result::Result<(usize, usize, usize), String> {
    let n = read_u32(body, 0).ok_or("body too short")? as usize;
    let lengths_at = HEADER + n * 24;
    Ok((n, lengths_at, lengths_at + n * STRING_COLUMNS * 4))
}

/// Checks that the lengths in a decoded body add up to its size, so slots can be read safely.
pub(super) fn check_body(body: &[u8]) -> std::result::Result<(), String> {
    let (n, lengths_at, strings_at) = layout(body)?;
    if n > MAX_BLOCK_LEN || body.len() < strings_at {
        return Err(format!("{n} messages do not fit {} bytes", body.len()));
    }
    let planar_ids = body[4] == 1;
    let total: usize = (0..STRING_COLUMNS)
        .flat_map(|c| (0..n).map(move |i| (c, i)))
        .map(|(c, i)| get_planar(body, lengths_at + c * n * 4, n, 4, i).unwrap_or(0) as usize)
        .sum();
    let id_lens_differ = (1..n)
        .any(|i| get_planar(body, lengths_at, n, 4, i) != get_planar(body, lengths_at, n, 4, 0));
    if strings_at + total != body.len() || body[4] > 1 || (planar_ids && id_lens_differ) {
        return Err("string lengths do not add up".into());
    }
    Ok(())
}

/// Decodes one slot of a body that passed [`check_body`].
pub(super) fn decode_slot(body: &[u8], slot: usize) -> std::result::Result<OwnedRecord, String> {
    let (n, lengths_at, mut start) = layout(body)?;
    if slot >= n {
        return Err(format!("slot {slot} out of {n}"));
    }
    let number = |col: usize| {
        (0..=slot).fold(0u64, |v, i| {
            v.wrapping_add(get_planar(body, HEADER + col * n * 8, n, 8, i).unwrap_or(0))
        })
    };
    let len = |col: usize, i: usize| {
        get_planar(body, lengths_at + col * n * 4, n, 4, i).unwrap_or(0) as usize
    };
    let utf8 = |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|_| "string is not UTF-8");
    let mut strings: [String; STRING_COLUMNS] = Default::default();
    for (col, s) in strings.iter_mut().enumerate() {
        let width = len(col, slot);
        let bytes = if col == 0 && body[4] == 1 {
            (0..width).map(|j| body.get(start + j * n + slot).copied()).collect::<Option<_>>()
        } else {
            let from = start + (0..slot).map(|i| len(col, i)).sum::<usize>();
            body.get(from..from + width).map(<[u8]>::to_vec)
        };
        *s = utf8(bytes.ok_or("string out of range")?)?;
        start += (0..n).map(|i| len(col, i)).sum::<usize>();
    }
    let [id, role, metadata, content] = strings;
    Ok(OwnedRecord {
        key: number(0),
        id,
        role,
        content,
        metadata,
        timestamp: f64::from_bits(number(1)),
        importance: unpack_importance(
            get_planar(body, HEADER + 2 * n * 8, n, 8, slot).unwrap_or(0),
        ),
    })
}

/// Marks a packed importance: the sign and exponent bits of a negative quiet NaN, a pattern no
/// stored value has once NaNs are canonical.
const DECIMAL_TAG: u64 = 0xFFF8_0000_0000_0000;

/// Importance scores are rounded to four decimals (`k / 10000`); such a value is stored as
/// `DECIMAL_TAG | k`, whose deltas are small and compress away, where its raw bits would not.
/// Any other value keeps its exact bits (NaN, the "no score" mark, in canonical form).
fn pack_importance(x: f64) -> u64 {
    if x.is_nan() {
        return f64::NAN.to_bits();
    }
    let k = (x * 10_000.0).round();
    if (0.0..2f64.powi(48)).contains(&k) {
        // Only when unpacking gives back the very same bits (not for -0.0, say).
        let packed = DECIMAL_TAG | k as u64;
        if unpack_importance(packed).to_bits() == x.to_bits() {
            return packed;
        }
    }
    x.to_bits()
}

/// The inverse of [`pack_importance`].
fn unpack_importance(bits: u64) -> f64 {
    if bits & DECIMAL_TAG == DECIMAL_TAG {
        return (bits & !DECIMAL_TAG) as f64 / 10_000.0;
    }
    f64::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn importance_packing_is_lossless_and_packs_decimals_small() {
        let values = [
            0.0,
            0.3,
            0.8523,
            1.0,
            0.1 + 0.2,
            0.123456789,
            -0.5,
            1e300,
            f64::INFINITY,
            f64::MIN_POSITIVE,
            5e-324,
            -0.0,
        ];
        for x in values {
            assert_eq!(unpack_importance(pack_importance(x)).to_bits(), x.to_bits(), "{x}");
        }
        assert!(unpack_importance(pack_importance(f64::NAN)).is_nan());
        assert!(unpack_importance(pack_importance(-f64::NAN)).is_nan());
        for k in [0u64, 1, 3000, 8523, 10_000] {
            let packed = pack_importance(k as f64 / 10_000.0);
            assert_eq!(packed, DECIMAL_TAG | k);
        }
    }
}
