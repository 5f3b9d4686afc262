//! The query side of an editor tab: its SQL, what ran, and the results streaming in. Plain state
//! updated from backend events ([`QueryTab::apply_update`]); drawing returns a [`QueryAction`]
//! the app turns into a `Command`. The grid, the editor and the history panel live beside it.

pub mod bench;
mod chart_view;
mod editor;
mod grid;
pub mod history_panel;
mod plan_view;
mod results;
pub mod schema_browser;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use crate::backend::{OrderRequest, OrderedRows, QueryEnd, QueryUpdate, StatementView, TabId};
use crate::jobs::JobId;
use crate::query::split::{split_statements, statement_at};
use crate::query::{Notice, RowFilter, StoreSnapshot};

pub use editor::EditorCursor;
pub use grid::{GridState, RowView};

/// Which part of the buffer to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunScope {
    /// The selection, else the statement under the cursor (Ctrl+Enter).
    Current,
    /// The whole buffer (Ctrl+Shift+Enter).
    All,
}

/// What a query tab asks for.
#[derive(Clone, Debug)]
#[must_use]
pub enum QueryAction {
    /// Run (the app checks the session and sends `RunQuery`).
    Run(RunScope),
    /// Stop the running query.
    Stop,
    /// Sort/filter a result off the UI thread.
    Order(OrderRequest),
    /// Export the statement at the cursor (or the selection) straight to a file.
    Export(crate::query::export::ExportFormat),
    /// Show the plan of the statement at the cursor (with ANALYZE: run it and time it).
    Explain {
        /// Run the statement (EXPLAIN ANALYZE).
        analyze: bool,
    },
}

/// What a result pane shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResultView {
    /// The grid.
    #[default]
    Grid,
    /// A chart of numeric columns.
    Chart,
    /// The plan tree of an EXPLAIN result.
    Plan,
}

/// The last error of a run, as the editor shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunError {
    /// Message and next step.
    pub text: String,
    /// Byte offset in the buffer to mark.
    pub offset: Option<usize>,
}

/// One result (statement) of the last run, with its grid state.
pub struct ResultPane {
    /// The statement's view from the backend.
    pub view: StatementView,
    /// Sorted/filtered rows, when asked for.
    pub ordered: Option<RowView>,
    /// The grid's selection, page and sort.
    pub grid: GridState,
    /// The filter text and column (`None` = all columns).
    pub filter: (String, Option<usize>),
    /// Generation of the last order request (answers to older ones are dropped).
    pub generation: u64,
    /// An order request is being computed.
    pub ordering: bool,
    /// Show the cell inspector.
    pub inspector: bool,
    /// Inspector: pretty-print JSON / show bytes in hex / wrap lines.
    pub inspector_mode: InspectorMode,
    /// Grid, chart or plan.
    pub view_mode: ResultView,
    /// The chart's choices.
    pub chart: chart_view::ChartState,
    /// The parsed plan, for an EXPLAIN (FORMAT JSON) result.
    pub plan: Option<crate::query::explain::Plan>,
}

/// How the inspector shows a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InspectorMode {
    /// As text, wrapped.
    #[default]
    Text,
    /// JSON pretty-printed.
    Json,
    /// The UTF-8 bytes in hex.
    Hex,
}

impl ResultPane {
    /// The rows the grid shows.
    pub fn rows(&self) -> Option<RowView> {
        if let Some(ordered) = &self.ordered {
            return Some(ordered.clone());
        }
        self.view.snapshot.clone().map(|snapshot| RowView {
            snapshot,
            order: None,
        })
    }
}

/// One tab's query state.
#[derive(Default)]
pub struct QueryTab {
    /// The SQL buffer.
    pub sql: String,
    /// Cursor and selection after the last frame.
    pub cursor: EditorCursor,
    /// The running job, if any.
    pub running: Option<JobId>,
    /// Offset in the buffer of the SQL that ran (its error offsets are relative to it).
    pub base_offset: usize,
    /// Results of the last run, one per statement.
    pub results: Vec<ResultPane>,
    /// Selected result.
    pub selected_result: usize,
    /// Notices of the last run.
    pub notices: Vec<Notice>,
    /// The last run's error.
    pub error: Option<RunError>,
    /// Status line: rows, bytes, time.
    pub status: String,
    /// How the last run ended.
    pub end: Option<QueryEnd>,
    /// Autocomplete offered in the editor.
    pub completion: editor::Completion,
    /// Bytes added before the buffer's SQL (`EXPLAIN (…) `), not in the buffer.
    pub explain_prefix: usize,
    next_generation: u64,
}

impl QueryTab {
    /// A tab holding `sql`.
    pub fn with_sql(sql: String) -> Self {
        Self {
            sql,
            ..Self::default()
        }
    }

    /// The SQL to run for `scope` and its offset in the buffer; `None` when there is nothing.
    pub fn sql_to_run(&self, scope: RunScope) -> Option<(String, usize)> {
        let selection = self.cursor.selection.clone();
        let (text, offset) = match scope {
            RunScope::All => (self.sql.clone(), 0),
            RunScope::Current if !selection.is_empty() && selection.end <= self.sql.len() => {
                (self.sql.get(selection.clone())?.to_owned(), selection.start)
            }
            RunScope::Current => {
                let span = statement_at(&self.sql, selection.start.min(self.sql.len()))?;
                (span.text(&self.sql).to_owned(), span.range.start)
            }
        };
        (!split_statements(&text).is_empty()).then_some((text, offset))
    }

    /// A run was started with SQL at `base_offset`.
    pub fn started(&mut self, base_offset: usize) {
        self.base_offset = base_offset;
        self.explain_prefix = 0;
        self.results.clear();
        self.selected_result = 0;
        self.notices.clear();
        self.error = None;
        self.end = None;
        self.status = "Running…".into();
    }

    /// The backend started the job.
    pub fn set_job(&mut self, job: JobId) {
        self.running = Some(job);
    }

    /// Applies a streaming update (or the final one). Returns the results whose sort or filter
    /// was computed on fewer rows than they now have: the caller orders them again.
    pub fn apply_update(&mut self, update: &QueryUpdate) -> Vec<usize> {
        if self.running.is_some_and(|job| job != update.job) {
            return Vec::new();
        }
        for (index, view) in update.statements.iter().enumerate() {
            if let Some(pane) = self.results.get_mut(index) {
                pane.view = view.clone();
            } else {
                self.results.push(ResultPane {
                    view: view.clone(),
                    ordered: None,
                    grid: GridState::default(),
                    filter: (String::new(), None),
                    generation: 0,
                    ordering: false,
                    inspector: false,
                    inspector_mode: InspectorMode::Text,
                    view_mode: ResultView::Grid,
                    chart: chart_view::ChartState::default(),
                    plan: None,
                });
                // Follow the newest result set while running.
                if view.snapshot.is_some() {
                    self.selected_result = index;
                }
            }
        }
        for pane in &mut self.results {
            if pane.plan.is_none()
                && pane.view.outcome.is_some()
                && let Some(plan) = plan_of(&pane.view)
            {
                pane.plan = Some(plan);
                pane.view_mode_plan();
            }
        }
        self.notices.clone_from(&update.notices);
        self.status = status_line(update);
        let stale: Vec<usize> = self
            .results
            .iter()
            .enumerate()
            .filter(|(_, pane)| pane.view.outcome.is_some() && !pane.ordering)
            .filter(|(_, pane)| {
                let shown = pane.ordered.as_ref().map(|o| o.snapshot.row_count());
                let now = pane.view.snapshot.as_ref().map(StoreSnapshot::row_count);
                shown.is_some() && shown != now
            })
            .map(|(index, _)| index)
            .collect();
        if let Some(end) = &update.end {
            self.running = None;
            self.end = Some(end.clone());
            self.error = match end {
                QueryEnd::Failed {
                    error,
                    error_offset,
                    ..
                } => Some(RunError {
                    text: error.to_string(),
                    offset: error_offset
                        .and_then(|o| o.checked_sub(self.explain_prefix))
                        .map(|o| o + self.base_offset),
                }),
                QueryEnd::Cancelled { message } => Some(RunError {
                    text: format!("Stopped: {message}. Rows received before are kept."),
                    offset: None,
                }),
                QueryEnd::Succeeded => None,
            };
        }
        stale
    }

    /// The job ended without a final update (cancelled from the jobs panel).
    pub fn job_finished(&mut self, job: JobId) {
        if self.running == Some(job) {
            self.running = None;
            self.status.push_str(" — stopped");
        }
    }

    /// Applies sorted/filtered rows; returns whether they are already stale (the result got
    /// more rows and finished meanwhile), so the caller orders again.
    pub fn apply_ordered(&mut self, ordered: &OrderedRows) -> bool {
        let Some(pane) = self.results.get_mut(ordered.result) else {
            return false;
        };
        if pane.generation != ordered.generation {
            return false;
        }
        let now = pane.view.snapshot.as_ref().map(StoreSnapshot::row_count);
        let stale = pane.view.outcome.is_some() && now != Some(ordered.snapshot.row_count());
        pane.ordering = false;
        match &ordered.rows {
            Ok(rows) => {
                pane.ordered = Some(RowView {
                    snapshot: ordered.snapshot.clone(),
                    order: Some(Arc::clone(rows)),
                });
                pane.grid.selection = None;
                pane.grid.page_start = 0;
            }
            Err(error) => {
                self.error = Some(RunError {
                    text: error.to_string(),
                    offset: None,
                });
            }
        }
        stale
    }

    /// An order request for result `index` with its current sort and filter, or `None` (and the
    /// natural order restored) when neither is set.
    pub fn order_request(&mut self, tab: TabId, index: usize) -> Option<OrderRequest> {
        self.next_generation += 1;
        let generation = self.next_generation;
        let pane = self.results.get_mut(index)?;
        pane.generation = generation;
        let snapshot = pane.view.snapshot.clone()?;
        let filter = (!pane.filter.0.is_empty()).then(|| RowFilter::Contains {
            column: pane.filter.1,
            text: pane.filter.0.clone(),
        });
        if pane.grid.sort.is_none() && filter.is_none() {
            pane.ordered = None;
            pane.ordering = false;
            return None;
        }
        pane.ordering = true;
        Some(OrderRequest {
            tab,
            result: index,
            snapshot,
            sort: pane.grid.sort,
            filter,
            generation,
        })
    }
}

impl ResultPane {
    fn view_mode_plan(&mut self) {
        self.view_mode = ResultView::Plan;
    }
}

/// The plan in a finished one-row, one-column `QUERY PLAN` result.
fn plan_of(view: &StatementView) -> Option<crate::query::explain::Plan> {
    let snapshot = view.snapshot.as_ref()?;
    let column = snapshot.columns().first()?;
    if snapshot.columns().len() != 1 || column.name != "QUERY PLAN" || snapshot.row_count() != 1 {
        return None;
    }
    let mut text = String::new();
    snapshot.render_cell(0, 0, &mut text).ok()?;
    crate::query::explain::parse_plan(&text)
}

fn status_line(update: &QueryUpdate) -> String {
    let rows = update.total_rows();
    let commands: Vec<String> = update
        .statements
        .iter()
        .filter_map(|s| s.outcome.as_ref())
        .filter(|o| !o.returned_rows)
        .map(|o| format!("{} affected", o.rows))
        .collect();
    let spilled: u64 = update.statements.iter().map(|s| s.spilled_rows).sum();
    let mut line = format!(
        "{} · {} · {}",
        crate::backend::count_rows(rows),
        crate::backend::format_bytes(update.received_bytes),
        format_elapsed(update.elapsed)
    );
    if update.statements.len() > 1 {
        line = format!("{} statements · {line}", update.statements.len());
    }
    if !commands.is_empty() && rows == 0 {
        line = format!("{} · {line}", commands.join(", "));
    }
    if spilled > 0 {
        let _ = write!(line, " · {spilled} rows spilled to disk");
    }
    if update.end.is_none() {
        line.push_str(" · running");
    }
    line
}

/// `850 ms`, `12.3 s`, `2 min 5 s`.
pub fn format_elapsed(elapsed: Duration) -> String {
    let millis = elapsed.as_millis();
    if millis < 1000 {
        format!("{millis} ms")
    } else if millis < 60_000 {
        format!("{:.1} s", elapsed.as_secs_f64())
    } else {
        let secs = elapsed.as_secs();
        format!("{} min {} s", secs / 60, secs % 60)
    }
}

pub use results::query_tab_ui;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_enter_runs_the_selection_or_the_statement_at_the_cursor() {
        let mut tab = QueryTab::with_sql("select 1;\nselect 2;\n".into());
        tab.cursor.selection = 12..12;
        assert_eq!(
            tab.sql_to_run(RunScope::Current),
            Some(("select 2".into(), 10))
        );
        tab.cursor.selection = 0..6;
        assert_eq!(
            tab.sql_to_run(RunScope::Current),
            Some(("select".into(), 0))
        );
        assert_eq!(
            tab.sql_to_run(RunScope::All),
            Some(("select 1;\nselect 2;\n".into(), 0))
        );
        let empty = QueryTab::with_sql("  -- nothing\n".into());
        assert_eq!(empty.sql_to_run(RunScope::All), None);
    }

    #[test]
    fn elapsed_is_readable() {
        assert_eq!(format_elapsed(Duration::from_millis(850)), "850 ms");
        assert_eq!(format_elapsed(Duration::from_millis(12_345)), "12.3 s");
        assert_eq!(format_elapsed(Duration::from_secs(125)), "2 min 5 s");
    }

    fn update_with_rows(rows: usize, finished: bool) -> QueryUpdate {
        use crate::query::render::ColumnRenderer;
        use crate::query::{
            ResultStore, StatementInfo, StatementOutcome, StoreColumn, StoreOptions,
        };
        let column = StoreColumn {
            name: "t".into(),
            type_oid: 25,
            type_name: "text".into(),
            renderer: ColumnRenderer::server_text(),
        };
        let mut store = ResultStore::new(vec![column], StoreOptions::default());
        for _ in 0..rows {
            let row: [Option<&[u8]>; 1] = [Some(b"x")];
            store.push_row(&row[..]).unwrap();
        }
        let statement = StatementInfo {
            index: 0,
            sql_range: 0..1,
        };
        QueryUpdate {
            tab: TabId(1),
            job: JobId::for_tests(1),
            session: crate::backend::SessionId(1),
            statements: vec![StatementView {
                statement: statement.clone(),
                snapshot: Some(store.snapshot()),
                outcome: finished.then_some(StatementOutcome {
                    statement,
                    returned_rows: true,
                    rows: rows as u64,
                    elapsed: Duration::ZERO,
                }),
                spilled_rows: 0,
            }],
            notices: Vec::new(),
            received_bytes: 0,
            elapsed: Duration::ZERO,
            end: finished.then_some(QueryEnd::Succeeded),
        }
    }

    #[test]
    fn a_sort_made_while_rows_arrived_is_redone_when_they_are_all_in() {
        let mut tab = QueryTab::with_sql("select".into());
        tab.started(0);
        tab.set_job(JobId::for_tests(1));
        assert!(tab.apply_update(&update_with_rows(2, false)).is_empty());
        tab.results[0].grid.sort = Some((0, crate::query::SortOrder::Ascending));
        let request = tab.order_request(TabId(1), 0).unwrap();
        assert_eq!(request.snapshot.row_count(), 2);
        let answer = OrderedRows {
            tab: TabId(1),
            result: 0,
            job: JobId::for_tests(2),
            generation: request.generation,
            snapshot: request.snapshot,
            rows: Ok(Arc::new(vec![1, 0])),
        };
        assert!(!tab.apply_ordered(&answer), "still running: not stale yet");
        assert_eq!(tab.apply_update(&update_with_rows(4, true)), [0]);
        assert_eq!(
            tab.order_request(TabId(1), 0).unwrap().snapshot.row_count(),
            4
        );
    }
}
