//! The session settings that decide how PostgreSQL prints values (`TimeZone`, `DateStyle`,
//! `IntervalStyle`, `extra_float_digits`, `bytea_output`, server version), read from the server so that
//! binary values can be rendered exactly as the server's text output. A setting we cannot
//! reproduce turns the affected types over to the server's own text format instead.

use jiff::tz::TimeZone;

/// The SQL that reads the settings, one text column each, in [`SessionSettings::from_values`]'s
/// order.
pub const SETTINGS_SQL: &str = "SELECT current_setting('TimeZone'), current_setting('DateStyle'), \
     current_setting('IntervalStyle'), current_setting('extra_float_digits'), \
     current_setting('bytea_output'), current_setting('server_version_num')";

/// How the session prints values, as far as our binary renderers care.
#[derive(Clone, Debug, Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent yes/no facts about the session, each read from one setting"
)]
pub struct SessionSettings {
    /// The session time zone for `timestamptz`, when we can resolve its name; `None` → text.
    pub time_zone: Option<TimeZone>,
    /// The session's `TimeZone` setting as the server shows it.
    pub time_zone_name: String,
    /// `DateStyle` starts with `ISO` (the default `ISO, MDY`); other styles → text.
    pub iso_dates: bool,
    /// `IntervalStyle` is `postgres` (the default); other styles → text.
    pub postgres_intervals: bool,
    /// Floats print shortest round-trip (PostgreSQL ≥ 12 with `extra_float_digits` ≥ 1).
    pub shortest_floats: bool,
    /// `bytea_output = hex` (the default); `escape` → text.
    pub hex_bytea: bool,
}

impl SessionSettings {
    /// Settings under which every type falls back to the server's text format: used when the
    /// settings cannot be read (e.g. in an aborted transaction).
    pub fn unknown() -> Self {
        Self::default()
    }

    /// Interprets the values of [`SETTINGS_SQL`].
    pub fn from_values(values: &[&str]) -> Self {
        let get = |i: usize| values.get(i).copied().unwrap_or_default();
        let time_zone_name = get(0).to_owned();
        let extra_float_digits: i32 = get(3).trim().parse().unwrap_or(0);
        let server_version_num: u32 = get(5).trim().parse().unwrap_or(0);
        Self {
            time_zone: resolve_time_zone(&time_zone_name),
            time_zone_name,
            iso_dates: get(1).trim_start().to_ascii_uppercase().starts_with("ISO"),
            postgres_intervals: get(2).trim().eq_ignore_ascii_case("postgres"),
            shortest_floats: server_version_num >= 120_000 && extra_float_digits >= 1,
            hex_bytea: get(4).trim().eq_ignore_ascii_case("hex"),
        }
    }
}

/// A PostgreSQL `TimeZone` value as a jiff time zone: an IANA name from the system database (the
/// one Debian's PostgreSQL uses too), or a POSIX string such as `<+05>-05` (what
/// `SET TIME ZONE 5` shows).
fn resolve_time_zone(name: &str) -> Option<TimeZone> {
    if name.eq_ignore_ascii_case("UTC") || name.eq_ignore_ascii_case("GMT") {
        return Some(TimeZone::UTC);
    }
    if let Some(zone) = fixed_offset_zone(name) {
        return Some(zone);
    }
    TimeZone::get(name)
        .or_else(|_| TimeZone::posix(name))
        .inspect_err(|error| {
            tracing::debug!(time_zone = name, %error, "time zone not resolved; timestamptz will use the server's text format");
        })
        .ok()
}

/// The zone PostgreSQL names `<-03:30>+03:30` after `SET TIME ZONE INTERVAL '-03:30' HOUR TO
/// MINUTE` (or a numeric `SET TIME ZONE`): the bracketed part is the offset east of UTC. jiff's
/// POSIX parser refuses the `:` inside the brackets, so it is read here.
fn fixed_offset_zone(name: &str) -> Option<TimeZone> {
    let inner = name.strip_prefix('<')?.split_once('>')?.0;
    let (sign, digits) = match inner.split_at_checked(1)? {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    let fields: Vec<&str> = digits.split(':').collect();
    if fields.len() > 3 {
        return None;
    }
    let mut seconds = 0i32;
    for (field, unit) in fields.iter().zip([3600, 60, 1]) {
        if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        seconds += field.parse::<i32>().ok()? * unit;
    }
    let offset = jiff::tz::Offset::from_seconds(sign * seconds).ok()?;
    Some(TimeZone::fixed(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_enable_every_binary_renderer() {
        let s = SessionSettings::from_values(&[
            "Europe/Berlin",
            "ISO, MDY",
            "postgres",
            "1",
            "hex",
            "150004",
        ]);
        assert!(s.time_zone.is_some() && s.iso_dates && s.postgres_intervals);
        assert!(s.shortest_floats && s.hex_bytea);
    }

    #[test]
    fn unusual_settings_turn_renderers_off() {
        let s = SessionSettings::from_values(&[
            "No/Such_Zone",
            "SQL, DMY",
            "iso_8601",
            "0",
            "escape",
            "150004",
        ]);
        assert!(s.time_zone.is_none() && !s.iso_dates && !s.postgres_intervals);
        assert!(!s.shortest_floats && !s.hex_bytea);
        let old = SessionSettings::from_values(&["UTC", "ISO", "postgres", "1", "hex", "110005"]);
        assert!(
            !old.shortest_floats,
            "PostgreSQL 11 prints %.17g-style floats"
        );
        assert!(
            SessionSettings::from_values(&["<+05>-05"])
                .time_zone
                .is_some()
        );
    }
}
