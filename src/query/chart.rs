//! Numeric series of a result for charts: which columns are numbers, and (x, y) points of chosen
//! columns read from a snapshot (x = the row number when no X column is chosen). NULLs and
//! non-finite values are skipped; at most a given number of points, evenly sampled, so a 1M-row
//! result still draws at once.

use super::render::ColumnFormat;
use super::store::{StoreError, StoreSnapshot};

/// Columns holding numbers (int, float, numeric), in order.
pub fn numeric_columns(snapshot: &StoreSnapshot) -> Vec<usize> {
    snapshot
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.renderer.format(), ColumnFormat::Scalar(k) if k.is_number()))
        .map(|(i, _)| i)
        .collect()
}

/// Points (x, y) of column `y` against column `x` (or the row number), sampling at most
/// `max_points` rows evenly.
pub fn series(
    snapshot: &StoreSnapshot,
    x: Option<usize>,
    y: usize,
    max_points: usize,
) -> Result<Vec<[f64; 2]>, StoreError> {
    let rows = snapshot.row_count();
    let step = rows.div_ceil(max_points.max(1) as u64).max(1);
    let mut points = Vec::with_capacity(usize::try_from(rows / step).unwrap_or(0) + 1);
    let mut text = String::new();
    let value = |row: u64, column: usize, text: &mut String| -> Result<Option<f64>, StoreError> {
        text.clear();
        let present = snapshot.render_cell(row, column, text)?;
        Ok(present
            .then(|| text.parse::<f64>().ok())
            .flatten()
            .filter(|v| v.is_finite()))
    };
    let mut row = 0;
    while row < rows {
        let x_value = match x {
            Some(column) => value(row, column, &mut text)?,
            None => Some((row + 1) as f64),
        };
        if let (Some(x_value), Some(y_value)) = (x_value, value(row, y, &mut text)?) {
            points.push([x_value, y_value]);
        }
        row += step;
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::render::ColumnRenderer;
    use crate::query::{ResultStore, StoreColumn, StoreOptions};

    #[test]
    #[expect(clippy::float_cmp, reason = "short decimals parse to exact values")]
    fn series_skip_nulls_and_sample_evenly() {
        let text = StoreColumn {
            name: "t".into(),
            type_oid: 25,
            type_name: "text".into(),
            renderer: ColumnRenderer::server_text(),
        };
        let mut store = ResultStore::new(vec![text.clone(), text], StoreOptions::default());
        for i in 0..10 {
            let x = format!("{}", i * 2);
            let y = if i == 3 { None } else { Some(format!("{i}.5")) };
            let row: [Option<&[u8]>; 2] = [Some(x.as_bytes()), y.as_deref().map(str::as_bytes)];
            store.push_row(&row[..]).unwrap();
        }
        let snapshot = store.snapshot();
        // Server-text columns are not numbers to the picker, but parse when chosen.
        assert!(numeric_columns(&snapshot).is_empty());
        let all = series(&snapshot, Some(0), 1, 100).unwrap();
        assert_eq!(all.len(), 9);
        assert_eq!(all[3], [8.0, 4.5]);
        let sampled = series(&snapshot, None, 1, 5).unwrap();
        assert_eq!(
            sampled,
            [[1.0, 0.5], [3.0, 2.5], [5.0, 4.5], [7.0, 6.5], [9.0, 8.5]]
        );
    }
}
