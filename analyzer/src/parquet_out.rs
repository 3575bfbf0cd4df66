//! `webinfer export parquet`: traces to record-level, hive-partitioned
//! Parquet ([`crate::export_schema`]), streaming.
//!
//! Two passes over the inputs. The first reads only `session` records (a
//! byte search picks the lines) and merges them per session id, to know
//! each session's label, variant, browser and day before any of its records
//! is written. The second parses every line and appends it to the buffer of
//! its table × partition; a buffer is written as one row group when it
//! holds [`ExportOptions::batch_rows`] rows, and at most
//! [`ExportOptions::max_open`] files are open at once (the least recently
//! used is finished, a later row of its partition opens a new part file).
//! Memory is therefore bounded by `max_open × batch_rows` rows plus one
//! small entry per session, whatever the input size.
//!
//! Lines that are not records are counted as `webinfer analyze` counts
//! them ([`ExportStats`]) and lose nothing else; records of every kind are
//! kept, documented kinds missing a field included (the SQL filters them
//! as the analyzer does).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::{Map, Value};
use webinfer_format::{SessionFields, SessionMerge};

use crate::export_schema::{self, Column, Family, Ty, FAMILIES, PARTITION_KEYS};
use crate::read::{discover, stream_lines};
use crate::Error;

/// The hive folder value of an empty or unknown attribute.
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The manifest written at the top of an export.
pub const MANIFEST: &str = "_webinfer_export.json";

/// How the export runs.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Partition keys, in folder order (a subset of [`PARTITION_KEYS`]).
    pub partition_by: Vec<String>,
    /// Rows per row group (and per buffer).
    pub batch_rows: usize,
    /// Files open at once.
    pub max_open: usize,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            partition_by: vec!["label".into()],
            batch_rows: 16 * 1024,
            max_open: 32,
        }
    }
}

/// What an export read and wrote.
#[derive(Debug, Default, Clone)]
pub struct ExportStats {
    /// Input files.
    pub files: u64,
    /// Non-blank lines seen.
    pub lines: u64,
    /// Records written, by table.
    pub records: BTreeMap<String, u64>,
    /// Rows written, by table (frames: one per timestamp).
    pub rows: BTreeMap<String, u64>,
    /// Sessions seen.
    pub sessions: u64,
    /// Parquet files written.
    pub parquet_files: u64,
    /// Files whose last line was torn (unterminated and not valid JSON).
    pub torn_last: Vec<PathBuf>,
    /// Lines in the middle of a file that are not records.
    pub invalid: u64,
    /// The first invalid line, as "file:line: error".
    pub invalid_example: Option<String>,
    /// Records of a newer format version (not written).
    pub newer_version: u64,
    /// Compressed files that ended early, with the decoder's error.
    pub truncated: Vec<(PathBuf, String)>,
}

impl ExportStats {
    /// Lines not written.
    pub fn skipped(&self) -> u64 {
        self.torn_last.len() as u64 + self.invalid + self.newer_version
    }
}

impl std::fmt::Display for ExportStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let recs: u64 = self.records.values().sum();
        let tables: Vec<String> = self
            .records
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        write!(
            f,
            "{recs} records of {} sessions from {} files ({}) in {} Parquet files; skipped {} lines",
            self.sessions,
            self.files,
            tables.join(", "),
            self.parquet_files,
            self.skipped()
        )?;
        let mut parts = Vec::new();
        if !self.torn_last.is_empty() {
            parts.push(format!("{} torn last line", self.torn_last.len()));
        }
        if self.invalid > 0 {
            parts.push(format!(
                "{} invalid (first: {})",
                self.invalid,
                self.invalid_example.as_deref().unwrap_or("?")
            ));
        }
        if self.newer_version > 0 {
            parts.push(format!("{} of a newer format version", self.newer_version));
        }
        for (p, e) in &self.truncated {
            parts.push(format!("{} cut short: {e}", p.display()));
        }
        if !parts.is_empty() {
            write!(f, " ({})", parts.join(", "))?;
        }
        Ok(())
    }
}

/// Checks `--partition-by` keys.
pub fn check_partition_keys(keys: &[String]) -> Result<(), Error> {
    for k in keys {
        if !PARTITION_KEYS.contains(&k.as_str()) {
            return Err(Error::Usage(format!(
                "unknown partition key `{k}` (known: {})",
                PARTITION_KEYS.join(", ")
            )));
        }
        if keys.iter().filter(|x| *x == k).count() > 1 {
            return Err(Error::Usage(format!("partition key `{k}` given twice")));
        }
    }
    Ok(())
}

/// The UTC date `YYYY-MM-DD` of a Unix time in milliseconds.
pub fn utc_day(unix_ms: f64) -> String {
    let days = (unix_ms / 86_400_000.0).floor() as i64;
    // civil_from_days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Escapes a hive partition value: every byte outside `[A-Za-z0-9._~ -]`
/// as `%XX` (DuckDB, Spark, DataFusion and pyarrow decode it); "" is
/// [`NULL_PARTITION`].
pub fn escape_partition(v: &str) -> String {
    if v.is_empty() {
        return NULL_PARTITION.to_owned();
    }
    let mut s = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"._-~ ".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// Session attribute values ([`export_schema::ATTRS`] order).
type Attrs = [String; 7];

fn attrs_of(meta: &SessionFields) -> Attrs {
    let k = crate::table::session_keys(meta);
    let day = meta.time_origin.map(utc_day).unwrap_or_default();
    [
        k.label,
        k.variant,
        k.browser,
        day,
        k.browser_version,
        k.source,
        k.page,
    ]
}

/// Pass 1: the merged `session` fields of every session id.
fn session_attrs(files: &[PathBuf]) -> Result<HashMap<String, Attrs>, Error> {
    let finder = memchr::memmem::Finder::new(b"\"session\"");
    let mut merges: HashMap<String, SessionMerge> = HashMap::new();
    let mut order = 0u64;
    for path in files {
        stream_lines(path, |line, _| {
            order += 1;
            if finder.find(line).is_none() {
                return;
            }
            let Ok(h) = webinfer_format::Header::parse(line) else {
                return;
            };
            if h.kind != webinfer_format::Kind::Session || h.is_newer() {
                return;
            }
            let Ok(fields) = SessionFields::parse(line) else {
                return;
            };
            merges
                .entry(h.sid.to_string())
                .or_default()
                .push(h.ts, order, fields);
        })?;
    }
    Ok(merges
        .into_iter()
        .map(|(sid, mut m)| (sid, attrs_of(&m.merged())))
        .collect())
}

/// One column's buffered values.
enum Buf {
    Str(Vec<Option<String>>),
    F64(Vec<Option<f64>>),
    I64(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
}

impl Buf {
    fn new(ty: Ty) -> Buf {
        match ty {
            Ty::Str | Ty::Json => Buf::Str(Vec::new()),
            Ty::F64 => Buf::F64(Vec::new()),
            Ty::I64 => Buf::I64(Vec::new()),
            Ty::Bool => Buf::Bool(Vec::new()),
        }
    }

    fn column(&mut self, name: &str) -> polars::prelude::Column {
        let name: PlSmallStr = name.into();
        match self {
            Buf::Str(v) => polars::prelude::Column::new(name, std::mem::take(v)),
            Buf::F64(v) => polars::prelude::Column::new(name, std::mem::take(v)),
            Buf::I64(v) => polars::prelude::Column::new(name, std::mem::take(v)),
            Buf::Bool(v) => polars::prelude::Column::new(name, std::mem::take(v)),
        }
    }
}

fn dtype(ty: Ty) -> DataType {
    match ty {
        Ty::Str | Ty::Json => DataType::String,
        Ty::F64 => DataType::Float64,
        Ty::I64 => DataType::Int64,
        Ty::Bool => DataType::Boolean,
    }
}

/// A JSON value as an integer when it is one (`3` or `3.0`).
fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

/// Pushes `v` onto `buf` when it fits the type; returns it back otherwise.
fn push_value(buf: &mut Buf, ty: Ty, v: Option<Value>) -> Option<Value> {
    let v = match v {
        None | Some(Value::Null) => {
            match buf {
                Buf::Str(b) => b.push(None),
                Buf::F64(b) => b.push(None),
                Buf::I64(b) => b.push(None),
                Buf::Bool(b) => b.push(None),
            }
            return None;
        }
        Some(v) => v,
    };
    let ok = match (buf, ty) {
        (Buf::Str(b), Ty::Json) => {
            b.push(Some(v.to_string()));
            return None;
        }
        (Buf::Str(b), _) => match &v {
            Value::String(s) => {
                b.push(Some(s.clone()));
                true
            }
            _ => {
                b.push(None);
                false
            }
        },
        (Buf::F64(b), _) => {
            let x = v.as_f64();
            b.push(x);
            x.is_some()
        }
        (Buf::I64(b), _) => {
            let x = as_i64(&v);
            b.push(x);
            x.is_some()
        }
        (Buf::Bool(b), _) => {
            let x = v.as_bool();
            b.push(x);
            x.is_some()
        }
    };
    if ok {
        None
    } else {
        Some(v)
    }
}

/// An open part file of one table × partition and its buffer.
struct Part {
    columns: Vec<Column>,
    bufs: Vec<Buf>,
    rows: usize,
    writer: polars::io::parquet::write::BatchedWriter<File>,
    path: PathBuf,
    last_used: u64,
}

impl Part {
    fn flush(&mut self) -> Result<(), Error> {
        if self.rows == 0 {
            return Ok(());
        }
        let cols: Vec<polars::prelude::Column> = self
            .columns
            .iter()
            .zip(self.bufs.iter_mut())
            .map(|(c, b)| b.column(c.name))
            .collect();
        let df = DataFrame::new_infer_height(cols).map_err(perr(&self.path))?;
        self.writer.write_batch(&df).map_err(perr(&self.path))?;
        self.rows = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<(), Error> {
        self.flush()?;
        self.writer.finish().map_err(perr(&self.path))?;
        Ok(())
    }
}

fn perr(path: &Path) -> impl Fn(PolarsError) -> Error + '_ {
    move |e| Error::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn schema_of(columns: &[Column]) -> Schema {
    Schema::from_iter(
        columns
            .iter()
            .map(|c| Field::new(c.name.into(), dtype(c.ty))),
    )
}

/// The open part files of an export.
struct Parts<'a> {
    out: &'a Path,
    opts: &'a ExportOptions,
    run: String,
    open: HashMap<(usize, String), Part>,
    /// Part files opened so far per table × partition (names the next one).
    opened: HashMap<(usize, String), u64>,
    clock: u64,
    files: u64,
}

impl Parts<'_> {
    fn part(&mut self, fam: usize, partition: &str) -> Result<&mut Part, Error> {
        self.clock += 1;
        let key = (fam, partition.to_owned());
        if !self.open.contains_key(&key) {
            if self.open.len() >= self.opts.max_open {
                let lru = self
                    .open
                    .iter()
                    .min_by_key(|(_, p)| p.last_used)
                    .map(|(k, _)| k.clone())
                    .expect("open is not empty");
                if let Some(p) = self.open.remove(&lru) {
                    p.finish()?;
                }
            }
            let n = self.opened.entry(key.clone()).or_default();
            *n += 1;
            let f = &FAMILIES[fam];
            let dir = self.out.join(f.name).join(partition);
            std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
            let path = dir.join(format!("part-{}-{:05}.parquet", self.run, n));
            let columns = export_schema::file_columns(f, &self.opts.partition_by);
            let file = File::create(&path).map_err(Error::io(&path))?;
            let writer = ParquetWriter::new(file)
                .with_row_group_size(Some(self.opts.batch_rows))
                .batched(&schema_of(&columns))
                .map_err(perr(&path))?;
            self.files += 1;
            let bufs = columns.iter().map(|c| Buf::new(c.ty)).collect();
            self.open.insert(
                key.clone(),
                Part {
                    columns,
                    bufs,
                    rows: 0,
                    writer,
                    path,
                    last_used: 0,
                },
            );
        }
        let p = self.open.get_mut(&key).expect("just inserted");
        p.last_used = self.clock;
        Ok(p)
    }

    fn finish(self) -> Result<u64, Error> {
        for (_, p) in self.open {
            p.finish()?;
        }
        Ok(self.files)
    }
}

/// Appends one record to its part's buffer: one row, or (frames) one row
/// per timestamp. Returns the rows written.
fn push_record(
    part: &mut Part,
    mut rec: Map<String, Value>,
    attrs: &Attrs,
    frames: bool,
) -> Result<u64, Error> {
    // frames: the arrays are exploded, one row per index
    let (t, presented) = if frames {
        (rec.remove("t"), rec.remove("presented"))
    } else {
        (None, None)
    };
    let as_array = |v: &Option<Value>| v.as_ref().and_then(Value::as_array).cloned();
    let (ta, pa) = (as_array(&t), as_array(&presented));
    let mut leftover_t = t.filter(|v| !v.is_array());
    let mut leftover_p = presented.filter(|v| !v.is_array());
    let n = ta.as_ref().map(Vec::len).unwrap_or(0);
    // a presented array longer than t keeps its tail in `extra`
    if let (Some(p), true) = (&pa, pa.as_ref().map(Vec::len).unwrap_or(0) > n) {
        leftover_p = Some(Value::Array(p.clone()));
    }
    let rows = if frames { n.max(1) } else { 1 };
    // take every column's field once; what does not fit goes to `extra`
    let mut values: Vec<Option<Value>> = Vec::with_capacity(part.columns.len());
    for col in &part.columns {
        if col.name == "extra" {
            values.push(None);
            continue;
        }
        if frames && matches!(col.name, "i" | "t" | "presented") {
            values.push(None);
            continue;
        }
        if let Some(i) = export_schema::ATTRS.iter().position(|a| *a == col.name) {
            values.push(Some(Value::String(attrs[i].clone())));
            continue;
        }
        values.push(rec.remove(col.field));
    }
    for row in 0..rows {
        let mut extra = Map::new();
        for (i, col) in part.columns.iter().enumerate() {
            let buf = &mut part.bufs[i];
            if col.name == "extra" {
                continue;
            }
            let v = if frames && col.name == "i" {
                (n > 0).then(|| Value::from(row as i64))
            } else if frames && col.name == "t" {
                ta.as_ref().and_then(|a| a.get(row).cloned())
            } else if frames && col.name == "presented" {
                pa.as_ref().and_then(|a| a.get(row).cloned())
            } else if row + 1 == rows {
                values[i].take()
            } else {
                values[i].clone()
            };
            if let Some(bad) = push_value(buf, col.ty, v) {
                if row == 0 {
                    extra.insert(col.field.to_owned(), bad);
                }
            }
        }
        if row == 0 {
            // the fields with no column, and malformed arrays, ride on the first row
            for (k, v) in std::mem::take(&mut rec) {
                extra.insert(k, v);
            }
            if let Some(v) = leftover_t.take() {
                extra.insert("t".into(), v);
            }
            if let Some(v) = leftover_p.take() {
                extra.insert("presented".into(), v);
            }
        }
        let i = part.columns.len() - 1;
        let e = (!extra.is_empty()).then_some(Value::Object(extra));
        push_value(&mut part.bufs[i], Ty::Json, e);
        part.rows += 1;
    }
    Ok(rows as u64)
}

/// Exports every record of the traces under `inputs` to `out`
/// (`<table>/<key>=<value>/…/part-<run>-<n>.parquet`, plus [`MANIFEST`]).
/// `out` may hold an earlier export with the same partition keys (the part
/// files of each run have their own names); anything else there is an
/// error.
pub fn export(inputs: &[PathBuf], out: &Path, opts: &ExportOptions) -> Result<ExportStats, Error> {
    check_partition_keys(&opts.partition_by)?;
    if opts.batch_rows == 0 || opts.max_open == 0 {
        return Err(Error::Usage(
            "batch rows and open files must be at least 1".into(),
        ));
    }
    let files = discover(inputs)?;
    // an export inside an input folder would be read back as traces by the next run
    let abs = |p: &Path| {
        std::fs::canonicalize(p).unwrap_or_else(|_| {
            std::env::current_dir()
                .map(|d| d.join(p))
                .unwrap_or_else(|_| p.to_path_buf())
        })
    };
    let out_abs = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            abs(parent).join(out.file_name().unwrap_or_default())
        }
        _ => abs(Path::new(".")).join(out),
    };
    for i in inputs.iter().filter(|p| p.is_dir()) {
        if out_abs.starts_with(abs(i)) {
            return Err(Error::Usage(format!(
                "the export folder {} is inside the input folder {}: webinfer would read its Parquet files as traces next time; export elsewhere",
                out.display(),
                i.display()
            )));
        }
    }
    let manifest = manifest_json(&opts.partition_by);
    let mpath = out.join(MANIFEST);
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map_err(Error::io(out))?
            .next()
            .is_none();
        if !empty {
            let old = std::fs::read_to_string(&mpath).map_err(|_| {
                Error::Usage(format!(
                    "{} is not empty and holds no webinfer export ({MANIFEST}): export into a new folder",
                    out.display()
                ))
            })?;
            let old: Value = serde_json::from_str(&old).unwrap_or(Value::Null);
            if old != manifest {
                return Err(Error::Usage(format!(
                    "{} holds an export with another schema or partitioning ({}): export into a new folder",
                    out.display(),
                    old
                )));
            }
        }
    }
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    std::fs::write(&mpath, format!("{manifest:#}\n")).map_err(Error::io(&mpath))?;

    let attrs = session_attrs(&files)?;
    let mut stats = ExportStats {
        files: files.len() as u64,
        sessions: attrs.len() as u64,
        ..Default::default()
    };
    let run = format!(
        "{:x}{:04x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0),
        std::process::id() & 0xffff
    );
    let mut parts = Parts {
        out,
        opts,
        run,
        open: HashMap::new(),
        opened: HashMap::new(),
        clock: 0,
        files: 0,
    };
    let unknown: Attrs = Default::default();
    let mut sessions_seen: std::collections::HashSet<String> = Default::default();
    for path in &files {
        let mut fl = crate::read::FileLines::new(path);
        let mut failure: Option<Error> = None;
        let streamed = stream_lines(path, |line, terminated| {
            if failure.is_some() || !fl.next(line) {
                return;
            }
            // one parse: the line as JSON, the header read from that value
            let parsed: Result<
                (webinfer_format::Header<'static>, Map<String, Value>),
                (bool, String),
            > = match serde_json::from_slice::<Value>(line) {
                Ok(v) => match webinfer_format::Header::of(&v).map(|h| h.into_owned()) {
                    Some(h) => match v {
                        Value::Object(m) => Ok((h, m)),
                        _ => Err((true, "not a JSON object".into())),
                    },
                    None => Err((
                        true,
                        "not a record (v, sid, seq, ts or kind missing or of the wrong type)"
                            .into(),
                    )),
                },
                Err(e) => Err((false, e.to_string())),
            };
            let (h, map) = match parsed {
                Ok(x) => x,
                Err((complete, e)) => {
                    fl.not_a_record(line, terminated, || complete, e);
                    return;
                }
            };
            fl.record();
            if h.is_newer() {
                stats.newer_version += 1;
                return;
            }
            let a = attrs.get(h.sid.as_ref()).unwrap_or(&unknown);
            if !sessions_seen.contains(h.sid.as_ref()) {
                sessions_seen.insert(h.sid.to_string());
            }
            let partition: Vec<String> = opts
                .partition_by
                .iter()
                .map(|k| {
                    let i = export_schema::ATTRS
                        .iter()
                        .position(|a| a == k)
                        .expect("checked key");
                    format!("{k}={}", escape_partition(&a[i]))
                })
                .collect();
            let fam = export_schema::family_of(h.kind.as_str());
            let frames = FAMILIES[fam].name == "frames";
            let res = (|| -> Result<(), Error> {
                let batch = opts.batch_rows;
                let part = parts.part(fam, &partition.join("/"))?;
                let rows = push_record(part, map, a, frames)?;
                if part.rows >= batch {
                    part.flush()?;
                }
                let name = FAMILIES[fam].name.to_owned();
                *stats.records.entry(name.clone()).or_default() += 1;
                *stats.rows.entry(name).or_default() += rows;
                Ok(())
            })();
            if let Err(e) = res {
                failure = Some(e);
            }
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        fl.finish(streamed, crate::read::line_counters!(stats))?;
    }
    stats.sessions = sessions_seen.len() as u64;
    // every table exists, an empty one as one file without rows (in folders
    // named `<key>=none`: a value no row carries, typed as a string)
    for i in 0..FAMILIES.len() {
        if !parts.opened.keys().any(|(fam, _)| *fam == i) {
            let partition: Vec<String> = opts
                .partition_by
                .iter()
                .map(|k| format!("{k}=none"))
                .collect();
            parts.part(i, &partition.join("/"))?;
        }
    }
    stats.parquet_files = parts.finish()?;
    Ok(stats)
}

/// The partition keys of the export in `dir`, from its [`MANIFEST`]; the
/// default (`label`) when `dir` holds no export (yet).
pub fn partition_keys_of(dir: &Path) -> Result<Vec<String>, Error> {
    let m = dir.join(MANIFEST);
    let Ok(text) = std::fs::read_to_string(&m) else {
        return Ok(ExportOptions::default().partition_by);
    };
    let v: Value = serde_json::from_str(&text).map_err(|e| Error::Parquet {
        path: m.clone(),
        message: format!("bad manifest: {e}"),
    })?;
    Ok(v["partition_by"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// The manifest: schema version, trace format version, partition keys and
/// the tables with their columns.
pub fn manifest_json(partition_by: &[String]) -> Value {
    let tables: Map<String, Value> = FAMILIES
        .iter()
        .map(|f: &Family| {
            let cols: Vec<Value> = export_schema::file_columns(f, partition_by)
                .iter()
                .map(|c| serde_json::json!({"name": c.name, "type": c.ty.name()}))
                .collect();
            (
                f.name.to_owned(),
                serde_json::json!({"kinds": f.kinds, "columns": cols}),
            )
        })
        .collect();
    serde_json::json!({
        "webinfer_export_schema": export_schema::EXPORT_SCHEMA,
        "trace_format_v": webinfer_format::VERSION,
        "partition_by": partition_by,
        "tables": tables,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_escapes() {
        assert_eq!(utc_day(0.0), "1970-01-01");
        // 2026-12-01T17:30:00Z
        assert_eq!(utc_day(1_796_146_200_000.0), "2026-12-01");
        assert_eq!(utc_day(-1.0), "1969-12-31");
        assert_eq!(escape_partition("a b/c:d"), "a b%2Fc%3Ad");
        assert_eq!(escape_partition(""), NULL_PARTITION);
        assert_eq!(escape_partition("é"), "%C3%A9");
    }
}
