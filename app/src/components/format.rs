//! How values read on screen.

use chrono::{DateTime, Utc};

/// A moment, to the minute, in UTC (the server's clock and the audit log's).
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub fn when_or(t: Option<DateTime<Utc>>, none: &str) -> String {
    t.map_or_else(|| none.to_owned(), when)
}

/// Large counts with thin separators: 12 345 678.
pub fn count(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Micro-units of money as decimal currency units: 1_500_000 → "1.5".
pub fn money(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let m = micros.unsigned_abs();
    let (whole, frac) = (m / 1_000_000, m % 1_000_000);
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let frac = format!("{frac:06}");
    format!("{sign}{whole}.{}", frac.trim_end_matches('0'))
}

/// Decimal currency units as typed ("12", "0.25") into micro-units, exactly; empty is `None`.
pub fn parse_money(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || format!("`{text}` is not an amount: write it like 12 or 0.25");
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    if frac.len() > 6 {
        return Err(format!("`{text}` is finer than a millionth"));
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let frac: i64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(1_000_000)
        .and_then(|w| w.checked_add(frac))
        .map(Some)
        .ok_or_else(bad)
}

/// A whole number as typed; empty is `None`.
pub fn parse_count(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim().replace(['\u{202f}', ' ', '_'], "");
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| format!("`{text}` is not a whole number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_and_writes_exactly() {
        assert_eq!(parse_money("12"), Ok(Some(12_000_000)));
        assert_eq!(parse_money("0.25"), Ok(Some(250_000)));
        assert_eq!(parse_money(".5"), Ok(Some(500_000)));
        assert_eq!(parse_money(" "), Ok(None));
        assert!(parse_money("1.2345678").is_err());
        assert!(parse_money("-1").is_err());
        assert!(parse_money("1e3").is_err());
        assert_eq!(money(1_500_000), "1.5");
        assert_eq!(money(250), "0.00025");
        assert_eq!(money(3_000_000), "3");
        assert_eq!(parse_count("12 000"), Ok(Some(12_000)));
        assert!(parse_count("1.5").is_err());
    }
}
