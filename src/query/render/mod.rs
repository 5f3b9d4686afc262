//! Values in PostgreSQL's binary format rendered as the exact text the server's output functions
//! (and so `psql -At`) print, for the types we can reproduce under the session's settings; every
//! other column is fetched in the server's own text format and shown as is. Rendering is lazy:
//! the store keeps wire bytes and a cell is turned into text only when someone looks at it.

mod array;
mod datetime;
mod numeric;
mod scalar;

use jiff::tz::TimeZone;
use tokio_postgres::types::{Kind, Type};

pub use numeric::compare_numeric;
use scalar::fixed;

use super::settings::SessionSettings;

/// A binary value that does not have the layout its type promises (a server or driver bug).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed binary {type_name} value ({len} bytes)")]
pub struct RenderError {
    /// The type we tried to decode.
    pub type_name: &'static str,
    /// Length of the value in bytes.
    pub len: usize,
}

impl RenderError {
    fn new(type_name: &'static str, len: usize) -> Self {
        Self { type_name, len }
    }
}

/// The built-in types rendered from binary values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarKind {
    /// `bool`.
    Bool,
    /// `int2`.
    Int2,
    /// `int4`.
    Int4,
    /// `int8`.
    Int8,
    /// `oid`.
    Oid,
    /// `float4`.
    Float4,
    /// `float8`.
    Float8,
    /// `numeric`.
    Numeric,
    /// `text`, `varchar`, `bpchar`, `name`, `json` and enum labels: UTF-8 as sent.
    Text,
    /// `bytea`, shown in hex.
    Bytea,
    /// `date`.
    Date,
    /// `time`.
    Time,
    /// `timetz`.
    TimeTz,
    /// `timestamp`.
    Timestamp,
    /// `timestamptz`, shown in the session time zone.
    TimestampTz,
    /// `interval`.
    Interval,
    /// `uuid`.
    Uuid,
    /// `jsonb`.
    Jsonb,
    /// `inet`.
    Inet,
    /// `cidr`.
    Cidr,
}

impl ScalarKind {
    /// The kind for a column type, if its binary form can be printed exactly under `settings`.
    pub fn for_type(ty: &Type, settings: &SessionSettings) -> Option<Self> {
        if matches!(ty.kind(), Kind::Enum(_)) {
            return Some(Self::Text);
        }
        let kind = match *ty {
            Type::BOOL => Self::Bool,
            Type::INT2 => Self::Int2,
            Type::INT4 => Self::Int4,
            Type::INT8 => Self::Int8,
            Type::OID => Self::Oid,
            Type::FLOAT4 if settings.shortest_floats => Self::Float4,
            Type::FLOAT8 if settings.shortest_floats => Self::Float8,
            Type::NUMERIC => Self::Numeric,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON => Self::Text,
            Type::BYTEA if settings.hex_bytea => Self::Bytea,
            Type::DATE if settings.iso_dates => Self::Date,
            Type::TIME => Self::Time,
            Type::TIMETZ => Self::TimeTz,
            Type::TIMESTAMP if settings.iso_dates => Self::Timestamp,
            Type::TIMESTAMPTZ if settings.iso_dates && settings.time_zone.is_some() => {
                Self::TimestampTz
            }
            Type::INTERVAL if settings.postgres_intervals => Self::Interval,
            Type::UUID => Self::Uuid,
            Type::JSONB => Self::Jsonb,
            Type::INET => Self::Inet,
            Type::CIDR => Self::Cidr,
            _ => return None,
        };
        Some(kind)
    }

    /// The size of every value of this type in bytes, for types of fixed size.
    pub fn fixed_width(self) -> Option<usize> {
        match self {
            Self::Bool => Some(1),
            Self::Int2 => Some(2),
            Self::Int4 | Self::Oid | Self::Float4 | Self::Date => Some(4),
            Self::Int8 | Self::Float8 | Self::Time | Self::Timestamp | Self::TimestampTz => Some(8),
            Self::TimeTz => Some(12),
            Self::Interval | Self::Uuid => Some(16),
            Self::Numeric | Self::Text | Self::Bytea | Self::Jsonb | Self::Inet | Self::Cidr => {
                None
            }
        }
    }

    /// Numbers: right-aligned in a grid and usable as chart series.
    pub fn is_number(self) -> bool {
        matches!(
            self,
            Self::Int2
                | Self::Int4
                | Self::Int8
                | Self::Oid
                | Self::Float4
                | Self::Float8
                | Self::Numeric
        )
    }

    /// Appends the text of one binary value; `zone` is used by `timestamptz` only.
    fn render(self, value: &[u8], zone: &TimeZone, out: &mut String) -> Result<(), RenderError> {
        match self {
            Self::Bool => scalar::push_bool(value, out),
            Self::Int2 => {
                scalar::push_integer(i16::from_be_bytes(fixed(value, "int2")?), out);
                Ok(())
            }
            Self::Int4 => {
                scalar::push_integer(i32::from_be_bytes(fixed(value, "int4")?), out);
                Ok(())
            }
            Self::Int8 => {
                scalar::push_integer(i64::from_be_bytes(fixed(value, "int8")?), out);
                Ok(())
            }
            Self::Oid => {
                scalar::push_integer(u32::from_be_bytes(fixed(value, "oid")?), out);
                Ok(())
            }
            Self::Float4 => {
                scalar::push_float4(f32::from_be_bytes(fixed(value, "float4")?), out);
                Ok(())
            }
            Self::Float8 => {
                scalar::push_float8(f64::from_be_bytes(fixed(value, "float8")?), out);
                Ok(())
            }
            Self::Numeric => numeric::push_numeric(value, out),
            Self::Text => {
                scalar::push_text(value, out);
                Ok(())
            }
            Self::Bytea => {
                scalar::push_bytea(value, out);
                Ok(())
            }
            Self::Date => datetime::push_date(value, out),
            Self::Time => datetime::push_time(value, out),
            Self::TimeTz => datetime::push_timetz(value, out),
            Self::Timestamp => datetime::push_timestamp(value, None, out),
            Self::TimestampTz => datetime::push_timestamp(value, Some(zone), out),
            Self::Interval => datetime::push_interval(value, out),
            Self::Uuid => scalar::push_uuid(value, out),
            Self::Jsonb => scalar::push_jsonb(value, out),
            Self::Inet => scalar::push_inet(value, false, out),
            Self::Cidr => scalar::push_inet(value, true, out),
        }
    }
}

/// How a column's values were fetched and are rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnFormat {
    /// Binary values of a built-in type.
    Scalar(ScalarKind),
    /// Binary one-dimensional or multi-dimensional arrays of a built-in element type.
    Array(ScalarKind),
    /// The server's text format, kept as sent (types we do not reproduce, or unusual settings).
    ServerText,
}

/// Renders the values of one column.
#[derive(Clone, Debug)]
pub struct ColumnRenderer {
    format: ColumnFormat,
    /// The session time zone when the result was fetched (`timestamptz` only).
    zone: TimeZone,
}

impl ColumnRenderer {
    /// A binary renderer for `ty` under `settings`, or `None` when the column must be fetched in
    /// text format. Arrays use `,` between elements (only `box` uses `;`, and it is not here).
    pub fn binary(ty: &Type, settings: &SessionSettings) -> Option<Self> {
        let format = match ty.kind() {
            Kind::Array(element) => ColumnFormat::Array(ScalarKind::for_type(element, settings)?),
            _ => ColumnFormat::Scalar(ScalarKind::for_type(ty, settings)?),
        };
        Some(Self {
            format,
            zone: settings.time_zone.clone().unwrap_or(TimeZone::UTC),
        })
    }

    /// For values in the server's text format.
    pub fn server_text() -> Self {
        Self {
            format: ColumnFormat::ServerText,
            zone: TimeZone::UTC,
        }
    }

    /// How the values were fetched.
    pub fn format(&self) -> ColumnFormat {
        self.format
    }

    /// Size of every value when all have one size (fixed-size scalars).
    pub fn fixed_width(&self) -> Option<usize> {
        match self.format {
            ColumnFormat::Scalar(kind) => kind.fixed_width(),
            ColumnFormat::Array(_) | ColumnFormat::ServerText => None,
        }
    }

    /// Appends the text of one non-NULL value as PostgreSQL prints it.
    pub fn render(&self, value: &[u8], out: &mut String) -> Result<(), RenderError> {
        match self.format {
            ColumnFormat::Scalar(kind) => kind.render(value, &self.zone, out),
            ColumnFormat::Array(element) => array::push_array(value, element, &self.zone, out),
            ColumnFormat::ServerText => {
                scalar::push_text(value, out);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_settings() -> SessionSettings {
        SessionSettings::from_values(&["UTC", "ISO, MDY", "postgres", "1", "hex", "150000"])
    }

    #[test]
    fn builtin_types_and_their_arrays_are_binary_others_text() {
        let settings = default_settings();
        for ty in [
            Type::INT4,
            Type::TIMESTAMPTZ,
            Type::JSONB_ARRAY,
            Type::NUMERIC_ARRAY,
        ] {
            assert!(ColumnRenderer::binary(&ty, &settings).is_some(), "{ty}");
        }
        for ty in [
            Type::MONEY,
            Type::POINT,
            Type::REGCLASS,
            Type::BOX_ARRAY,
            Type::INT4_RANGE,
        ] {
            assert!(ColumnRenderer::binary(&ty, &settings).is_none(), "{ty}");
        }
        let unknown = SessionSettings::unknown();
        assert!(ColumnRenderer::binary(&Type::TIMESTAMPTZ, &unknown).is_none());
        assert!(ColumnRenderer::binary(&Type::FLOAT8, &unknown).is_none());
        assert!(ColumnRenderer::binary(&Type::INT8, &unknown).is_some());
    }

    #[test]
    fn renders_scalars_arrays_and_server_text() {
        let settings = default_settings();
        let render = |ty: &Type, value: &[u8]| {
            let mut out = String::new();
            ColumnRenderer::binary(ty, &settings)
                .unwrap()
                .render(value, &mut out)
                .unwrap();
            out
        };
        assert_eq!(render(&Type::BOOL, &[1]), "t");
        assert_eq!(render(&Type::INT2, &(-5i16).to_be_bytes()), "-5");
        assert_eq!(
            render(&Type::INT8, &i64::MIN.to_be_bytes()),
            "-9223372036854775808"
        );
        assert_eq!(render(&Type::OID, &u32::MAX.to_be_bytes()), "4294967295");
        assert_eq!(render(&Type::JSONB, b"\x01{\"a\": 1}"), "{\"a\": 1}");
        let numeric = numeric::tests::numeric(0, 0, 1, &[7, 5000]);
        let mut array = Vec::new();
        for part in [1i32, 0, 1700, 1, 1, i32::try_from(numeric.len()).unwrap()] {
            array.extend(part.to_be_bytes());
        }
        array.extend(&numeric);
        assert_eq!(render(&Type::NUMERIC_ARRAY, &array), "{7.5}");
        let mut out = String::new();
        ColumnRenderer::server_text()
            .render(b"(1,2)", &mut out)
            .unwrap();
        assert_eq!(out, "(1,2)");
        let error = ColumnRenderer::binary(&Type::INT4, &settings)
            .unwrap()
            .render(&[1, 2, 3], &mut out)
            .unwrap_err();
        assert_eq!(error.to_string(), "malformed binary int4 value (3 bytes)");
    }
}
