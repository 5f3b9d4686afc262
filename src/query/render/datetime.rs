//! Dates, times and intervals in binary form (microseconds and days since 2000-01-01) printed as
//! PostgreSQL does with `DateStyle = ISO` and `IntervalStyle = postgres` (`EncodeDateOnly`,
//! `EncodeDateTime`, `EncodeTimeOnly`, `EncodeInterval` in `datetime.c`). `timestamptz` is shown
//! in the session time zone, with the offset jiff's copy of the time zone database gives.

use std::fmt::Write as _;

use jiff::tz::TimeZone;

use super::RenderError;
use super::scalar::fixed;

const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_DAY: i64 = 86_400 * USECS_PER_SEC;
/// Julian day of 2000-01-01, PostgreSQL's epoch.
const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
/// Seconds from 1970-01-01 to 2000-01-01.
const UNIX_TO_POSTGRES_SECS: i64 = 946_684_800;
/// 400 Gregorian years, after which calendars and time zone rules repeat.
const SECS_PER_400_YEARS: i64 = 146_097 * 86_400;

/// Year, month, day of a Julian day number (PostgreSQL's `j2date`).
fn j2date(julian_day: i64) -> (i64, u32, u32) {
    let mut julian = julian_day + 32044;
    let mut quad = julian / 146_097;
    let extra = (julian - quad * 146_097) * 4 + 3;
    julian += 60 + quad * 3 + extra / 146_097;
    quad = julian / 1461;
    julian -= quad * 1461;
    let mut y = julian * 4 / 1461;
    julian = if y == 0 {
        (julian + 306) % 366
    } else {
        (julian + 305) % 365
    } + 123;
    y += quad * 4;
    let quad = julian * 2141 / 65536;
    let day = julian - 7834 * quad / 256;
    let month = (quad + 10) % 12 + 1;
    // Month and day are 1..=12 and 1..=31 by construction.
    let small = |n: i64| u32::try_from(n).unwrap_or_default();
    (y - 4800, small(month), small(day))
}

/// `YYYY-MM-DD` with the year zero-padded to 4 digits and BC years counted from 1.
fn push_ymd(year: i64, month: u32, day: u32, out: &mut String) {
    let shown_year = if year > 0 { year } else { 1 - year };
    let _ = write!(out, "{shown_year:04}-{month:02}-{day:02}");
}

fn push_bc(year: i64, out: &mut String) {
    if year <= 0 {
        out.push_str(" BC");
    }
}

/// `SS[.ffffff]` without trailing zeros in the fraction (`AppendSeconds` with fill zeros).
fn push_seconds(seconds: i64, micros: i64, out: &mut String) {
    let _ = write!(out, "{:02}", seconds.unsigned_abs());
    if micros != 0 {
        let (mut fraction, mut width) = (micros.unsigned_abs(), 6);
        while fraction % 10 == 0 {
            fraction /= 10;
            width -= 1;
        }
        let _ = write!(out, ".{fraction:0width$}");
    }
}

/// `HH:MM:SS[.ffffff]` of a time of day in microseconds.
fn push_time_of_day(micros: i64, out: &mut String) {
    let seconds = micros / USECS_PER_SEC;
    let _ = write!(out, "{:02}:{:02}:", seconds / 3600, seconds / 60 % 60);
    push_seconds(seconds % 60, micros % USECS_PER_SEC, out);
}

/// `+HH`, `+HH:MM` or `+HH:MM:SS` of an offset east of UTC (`EncodeTimezone`).
fn push_offset(offset_secs: i64, out: &mut String) {
    out.push(if offset_secs >= 0 { '+' } else { '-' });
    let abs = offset_secs.unsigned_abs();
    let (hours, minutes, seconds) = (abs / 3600, abs / 60 % 60, abs % 60);
    let _ = write!(out, "{hours:02}");
    if seconds != 0 {
        let _ = write!(out, ":{minutes:02}:{seconds:02}");
    } else if minutes != 0 {
        let _ = write!(out, ":{minutes:02}");
    }
}

/// `date`: days since 2000-01-01; `i32::MIN`/`MAX` are ∓infinity.
pub(super) fn push_date(bytes: &[u8], out: &mut String) -> Result<(), RenderError> {
    match i32::from_be_bytes(fixed(bytes, "date")?) {
        i32::MAX => out.push_str("infinity"),
        i32::MIN => out.push_str("-infinity"),
        days => {
            let (year, month, day) = j2date(i64::from(days) + POSTGRES_EPOCH_JDATE);
            push_ymd(year, month, day, out);
            push_bc(year, out);
        }
    }
    Ok(())
}

/// `time`: microseconds since midnight.
pub(super) fn push_time(bytes: &[u8], out: &mut String) -> Result<(), RenderError> {
    push_time_of_day(i64::from_be_bytes(fixed(bytes, "time")?), out);
    Ok(())
}

/// `timetz`: microseconds since midnight, then the zone in seconds *west* of UTC.
pub(super) fn push_timetz(bytes: &[u8], out: &mut String) -> Result<(), RenderError> {
    let bytes = fixed::<12>(bytes, "timetz")?;
    let (time, zone) = bytes.split_at(8);
    push_time_of_day(i64::from_be_bytes(fixed(time, "timetz")?), out);
    push_offset(-i64::from(i32::from_be_bytes(fixed(zone, "timetz")?)), out);
    Ok(())
}

/// `timestamp` (no zone) or, with `zone`, `timestamptz` shown in that zone: microseconds since
/// 2000-01-01 00:00 (UTC for timestamptz); `i64::MIN`/`MAX` are ∓infinity.
pub(super) fn push_timestamp(
    bytes: &[u8],
    zone: Option<&TimeZone>,
    out: &mut String,
) -> Result<(), RenderError> {
    let micros = match i64::from_be_bytes(fixed(bytes, "timestamp")?) {
        i64::MAX => {
            out.push_str("infinity");
            return Ok(());
        }
        i64::MIN => {
            out.push_str("-infinity");
            return Ok(());
        }
        micros => micros,
    };
    let offset_secs = zone.map(|zone| offset_at(zone, micros));
    let local = micros + offset_secs.unwrap_or(0) * USECS_PER_SEC;
    let (days, time) = (
        local.div_euclid(USECS_PER_DAY),
        local.rem_euclid(USECS_PER_DAY),
    );
    let (year, month, day) = j2date(days + POSTGRES_EPOCH_JDATE);
    push_ymd(year, month, day, out);
    out.push(' ');
    push_time_of_day(time, out);
    if let Some(offset_secs) = offset_secs {
        push_offset(offset_secs, out);
    }
    push_bc(year, out);
    Ok(())
}

/// The UTC offset of `zone` at a PostgreSQL timestamp. Past jiff's range (years ±9999) the
/// instant is moved by whole 400-year cycles, over which time zone rules repeat, as the tz code
/// in PostgreSQL does for instants past its last transition.
fn offset_at(zone: &TimeZone, postgres_micros: i64) -> i64 {
    let mut unix_secs = postgres_micros.div_euclid(USECS_PER_SEC) + UNIX_TO_POSTGRES_SECS;
    let max_secs = jiff::Timestamp::MAX.as_second();
    let min_secs = jiff::Timestamp::MIN.as_second();
    if unix_secs > max_secs {
        let cycles = (unix_secs - max_secs).div_euclid(SECS_PER_400_YEARS) + 1;
        unix_secs -= cycles * SECS_PER_400_YEARS;
    }
    let instant =
        jiff::Timestamp::from_second(unix_secs.max(min_secs)).unwrap_or(jiff::Timestamp::MIN);
    i64::from(zone.to_offset(instant).seconds())
}

/// `interval` (months, days and microseconds kept apart) as `IntervalStyle = postgres` prints it:
/// `1 year 2 mons -3 days +04:05:06.5`.
pub(super) fn push_interval(bytes: &[u8], out: &mut String) -> Result<(), RenderError> {
    let bytes = fixed::<16>(bytes, "interval")?;
    let time = i64::from_be_bytes(fixed(&bytes[..8], "interval")?);
    let days = i32::from_be_bytes(fixed(&bytes[8..12], "interval")?);
    let months = i32::from_be_bytes(fixed(&bytes[12..], "interval")?);
    // PostgreSQL 17's infinite intervals.
    if (time, days, months) == (i64::MAX, i32::MAX, i32::MAX) {
        out.push_str("infinity");
        return Ok(());
    }
    if (time, days, months) == (i64::MIN, i32::MIN, i32::MIN) {
        out.push_str("-infinity");
        return Ok(());
    }
    let mut state = IntervalParts {
        is_zero: true,
        is_before: false,
    };
    state.push_part(i64::from(months / 12), "year", out);
    state.push_part(i64::from(months % 12), "mon", out);
    state.push_part(i64::from(days), "day", out);
    let hours = time / (3600 * USECS_PER_SEC);
    let minutes = time / (60 * USECS_PER_SEC) % 60;
    let seconds = time / USECS_PER_SEC % 60;
    let micros = time % USECS_PER_SEC;
    if state.is_zero || time != 0 {
        let minus = hours < 0 || minutes < 0 || seconds < 0 || micros < 0;
        if !state.is_zero {
            out.push(' ');
        }
        if minus {
            out.push('-');
        } else if state.is_before {
            out.push('+');
        }
        let _ = write!(
            out,
            "{:02}:{:02}:",
            hours.unsigned_abs(),
            minutes.unsigned_abs()
        );
        push_seconds(seconds, micros, out);
    }
    Ok(())
}

/// `AddPostgresIntPart`'s state: whether anything was printed, and whether the previous part was
/// negative (then a positive part gets an explicit `+`).
struct IntervalParts {
    is_zero: bool,
    is_before: bool,
}

impl IntervalParts {
    fn push_part(&mut self, value: i64, unit: &str, out: &mut String) {
        if value == 0 {
            return;
        }
        if !self.is_zero {
            out.push(' ');
        }
        if self.is_before && value > 0 {
            out.push('+');
        }
        let plural = if value == 1 { "" } else { "s" };
        let _ = write!(out, "{value} {unit}{plural}");
        self.is_before = value < 0;
        self.is_zero = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(f: fn(&[u8], &mut String) -> Result<(), RenderError>, bytes: &[u8]) -> String {
        let mut out = String::new();
        f(bytes, &mut out).unwrap();
        out
    }

    fn interval(micros: i64, days: i32, months: i32) -> String {
        let mut bytes = micros.to_be_bytes().to_vec();
        bytes.extend(days.to_be_bytes());
        bytes.extend(months.to_be_bytes());
        render(push_interval, &bytes)
    }

    #[test]
    fn dates_follow_iso_with_bc_years() {
        let date = |days: i32| render(push_date, &days.to_be_bytes());
        assert_eq!(date(0), "2000-01-01");
        assert_eq!(date(-1), "1999-12-31");
        assert_eq!(date(60), "2000-03-01");
        assert_eq!(date(-730_119), "0001-01-01");
        assert_eq!(date(-730_120), "0001-12-31 BC");
        assert_eq!(date(2_921_939), "9999-12-31");
        assert_eq!(date(i32::MAX), "infinity");
        assert_eq!(date(i32::MIN), "-infinity");
    }

    #[test]
    fn times_and_offsets() {
        let time = |micros: i64| render(push_time, &micros.to_be_bytes());
        assert_eq!(time(0), "00:00:00");
        assert_eq!(time(USECS_PER_DAY), "24:00:00");
        assert_eq!(time(45_296_789_000), "12:34:56.789");
        assert_eq!(time(1), "00:00:00.000001");
        let timetz = |micros: i64, west: i32| {
            let mut bytes = micros.to_be_bytes().to_vec();
            bytes.extend(west.to_be_bytes());
            render(push_timetz, &bytes)
        };
        assert_eq!(timetz(0, -19_800), "00:00:00+05:30");
        assert_eq!(timetz(0, 3600), "00:00:00-01");
        assert_eq!(timetz(0, -3208), "00:00:00+00:53:28");
    }

    #[test]
    fn timestamps_in_a_zone() {
        let ts = |micros: i64, zone: Option<&TimeZone>| {
            let mut out = String::new();
            push_timestamp(&micros.to_be_bytes(), zone, &mut out).unwrap();
            out
        };
        assert_eq!(ts(0, None), "2000-01-01 00:00:00");
        assert_eq!(ts(-1, None), "1999-12-31 23:59:59.999999");
        assert_eq!(ts(i64::MAX, None), "infinity");
        let utc = TimeZone::UTC;
        assert_eq!(ts(1_500_000, Some(&utc)), "2000-01-01 00:00:01.5+00");
        let india = TimeZone::posix("IST-5:30").unwrap();
        assert_eq!(ts(0, Some(&india)), "2000-01-01 05:30:00+05:30");
        // Year 200000: beyond jiff's range, still the right offset (fixed zone here).
        let far = (200_000i64 - 2000) * 31_556_952 * USECS_PER_SEC;
        assert!(
            ts(far, Some(&india)).ends_with("+05:30"),
            "{}",
            ts(far, Some(&india))
        );
    }

    #[test]
    fn intervals_in_postgres_style() {
        assert_eq!(interval(0, 0, 0), "00:00:00");
        assert_eq!(interval(0, 0, 14), "1 year 2 mons");
        assert_eq!(interval(0, 1, 1), "1 mon 1 day");
        assert_eq!(interval(3_723_500_000, 3, 0), "3 days 01:02:03.5");
        assert_eq!(
            interval(-3_723_000_000, 3, -14),
            "-1 years -2 mons +3 days -01:02:03"
        );
        assert_eq!(interval(3_600_000_000, -1, 0), "-1 days +01:00:00");
        assert_eq!(interval(-1, 0, 0), "-00:00:00.000001");
        assert_eq!(interval(0, 0, -1), "-1 mons");
        assert_eq!(interval(100 * 3_600_000_000, 0, 0), "100:00:00");
    }
}
