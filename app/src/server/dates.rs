//! Dates and durations a request gives, checked before any arithmetic: chrono panics on
//! overflow, and a database refuses years it cannot store. Out of range is the caller's 400.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::CoreError;

/// The range of dates a request may name: from the Unix epoch to the end of year 9999.
fn range() -> (DateTime<Utc>, DateTime<Utc>) {
    let first = DateTime::<Utc>::UNIX_EPOCH;
    let last = Utc
        .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .single()
        .unwrap_or(first);
    (first, last)
}

/// `t`, if it lies between 1970 and 9999.
pub fn date(field: &'static str, t: DateTime<Utc>) -> Result<DateTime<Utc>, CoreError> {
    let (first, last) = range();
    if t < first || t > last {
        return Err(CoreError::invalid(
            field,
            "must be a date between 1970 and 9999",
        ));
    }
    Ok(t)
}

/// [`date`] for an optional date.
pub fn optional(
    field: &'static str,
    t: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, CoreError> {
    t.map(|t| date(field, t)).transpose()
}

/// `n` seconds, if between 0 and `max`.
pub fn seconds(field: &'static str, n: i64, max: Duration) -> Result<Duration, CoreError> {
    Duration::try_seconds(n)
        .filter(|d| *d >= Duration::zero() && *d <= max)
        .ok_or_else(|| {
            CoreError::invalid(
                field,
                format!("must be between 0 and {} seconds", max.num_seconds()),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_durations_out_of_range_are_refused_not_panicked_on() {
        let far =
            DateTime::parse_from_rfc3339("-262143-01-01T00:00:00Z").map(|d| d.with_timezone(&Utc));
        if let Ok(far) = far {
            assert!(date("until", far).is_err());
        }
        assert!(date("until", DateTime::<Utc>::MAX_UTC).is_err());
        assert!(date("until", Utc::now()).is_ok());
        let week = Duration::days(7);
        assert!(seconds("grace_seconds", i64::MAX, week).is_err());
        assert!(seconds("grace_seconds", i64::MIN, week).is_err());
        assert!(seconds("grace_seconds", -1, week).is_err());
        assert_eq!(
            seconds("grace_seconds", 60, week).ok(),
            Some(Duration::minutes(1))
        );
    }
}
