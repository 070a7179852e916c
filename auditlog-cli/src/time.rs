//! Points in time on the command line: RFC 3339, plain dates, and ages such as `24h`.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// A point in time given on the command line, resolved when it is parsed (an age counts back
/// from that moment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeArg(pub(crate) DateTime<Utc>);

/// Why a time argument was refused; the message names the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}; expected RFC 3339 (2026-12-03T10:15:00Z), a date (2026-12-03, midnight UTC) or an age (30m, 24h, 7d, 2w)")]
pub(crate) struct BadTime {
    reason: String,
}

impl FromStr for TimeArg {
    type Err = BadTime;

    fn from_str(text: &str) -> Result<Self, BadTime> {
        let t = parse_at(text.trim(), Utc::now())?;
        // The log stores microseconds; finer digits would only clutter messages.
        Ok(TimeArg(
            DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t),
        ))
    }
}

/// Parses `text` with ages counted back from `now`.
fn parse_at(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, BadTime> {
    let bad = |reason: &str| BadTime {
        reason: reason.to_owned(),
    };
    if text.is_empty() {
        return Err(bad("empty time"));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    let Some(unit) = text.chars().last().filter(char::is_ascii_alphabetic) else {
        return Err(bad("not a date, a time or an age"));
    };
    let count: i64 = text[..text.len() - 1]
        .parse()
        .map_err(|_| bad("not a date, a time or an age"))?;
    if count < 0 {
        return Err(bad("an age cannot be negative"));
    }
    let age = match unit {
        's' => TimeDelta::try_seconds(count),
        'm' => TimeDelta::try_minutes(count),
        'h' => TimeDelta::try_hours(count),
        'd' => TimeDelta::try_days(count),
        'w' => TimeDelta::try_weeks(count),
        _ => return Err(bad("unknown unit of age (use s, m, h, d or w)")),
    };
    age.and_then(|age| now.checked_sub_signed(age))
        .ok_or_else(|| bad("age out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Result<DateTime<Utc>, BadTime> {
        let now = DateTime::parse_from_rfc3339("2026-12-03T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        parse_at(text, now)
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn rfc3339_and_dates_are_absolute() {
        assert_eq!(
            at("2026-12-01T08:30:00+01:00"),
            Ok(utc("2026-12-01T07:30:00Z"))
        );
        assert_eq!(at("2026-12-01"), Ok(utc("2026-12-01T00:00:00Z")));
    }

    #[test]
    fn ages_count_back_from_now() {
        assert_eq!(at("24h"), Ok(utc("2026-12-02T12:00:00Z")));
        assert_eq!(at("7d"), Ok(utc("2026-11-26T12:00:00Z")));
        assert_eq!(at("30m"), Ok(utc("2026-12-03T11:30:00Z")));
        assert_eq!(at("2w"), Ok(utc("2026-11-19T12:00:00Z")));
        assert_eq!(at("0s"), Ok(utc("2026-12-03T12:00:00Z")));
    }

    #[test]
    fn malformed_times_say_what_is_accepted() {
        for text in [
            "",
            "yesterday",
            "2026-13-01",
            "24x",
            "-3d",
            "h",
            "99999999999999d",
        ] {
            let err = at(text).unwrap_err().to_string();
            assert!(err.contains("expected RFC 3339"), "{text}: {err}");
        }
    }
}
