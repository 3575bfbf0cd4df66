//! The record-level Parquet schema of `webinfer export parquet`: which
//! record kinds go to which table (kind family), and the columns of each.
//!
//! Every table starts with the record header ([`COMMON`]), then the
//! session attributes ([`ATTRS`]) that are not partition keys (those are in
//! the folder names, `label=…/variant=…/`), then the family's own columns,
//! then `extra`: a JSON object of every field the table has no column for
//! (or whose value does not fit the column's type), so no field is lost.
//! The schema is versioned by [`EXPORT_SCHEMA`] together with the trace
//! format `v`; it is documented in `format/parquet-export.md`.

/// Version of this schema. A column never changes meaning or type without
/// a new version; new columns may be added.
pub const EXPORT_SCHEMA: u64 = 1;

/// Column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// UTF-8 string.
    Str,
    /// 64-bit float.
    F64,
    /// 64-bit signed integer (a JSON number with an integral value).
    I64,
    /// Boolean.
    Bool,
    /// Any JSON value, stored as its JSON text (UTF-8 string).
    Json,
}

impl Ty {
    /// The type's name in the documentation.
    pub fn name(self) -> &'static str {
        match self {
            Ty::Str => "string",
            Ty::F64 => "double",
            Ty::I64 => "int64",
            Ty::Bool => "boolean",
            Ty::Json => "string (JSON)",
        }
    }
}

/// One column: its name in the table, the record field it holds, its type.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Column name.
    pub name: &'static str,
    /// The record's field (usually the same as the name).
    pub field: &'static str,
    /// Type.
    pub ty: Ty,
}

const fn c(name: &'static str, ty: Ty) -> Column {
    Column {
        name,
        field: name,
        ty,
    }
}

const fn renamed(name: &'static str, field: &'static str, ty: Ty) -> Column {
    Column { name, field, ty }
}

/// The record header, first in every table: `v`, `sid`, `seq`, `ts`,
/// `kind`, `by` (null for the session's own writer).
pub const COMMON: &[Column] = &[
    c("v", Ty::I64),
    c("sid", Ty::Str),
    c("seq", Ty::I64),
    c("ts", Ty::F64),
    c("kind", Ty::Str),
    c("by", Ty::Str),
];

/// Session attributes on every row, resolved from the session's merged
/// `session` records exactly as `webinfer analyze` resolves its row keys
/// ([`crate::table::session_keys`]); `day` is the UTC date (`YYYY-MM-DD`)
/// of the session's `time_origin`. "" when unknown. The first four can be
/// partition keys.
pub const ATTRS: &[&str] = &[
    "label",
    "variant",
    "browser",
    "day",
    "browser_version",
    "source",
    "page",
];

/// Attributes that can be partition keys (`--partition-by`).
pub const PARTITION_KEYS: &[&str] = &["label", "variant", "browser", "day"];

/// A kind family: one table.
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// Table (and folder) name.
    pub name: &'static str,
    /// The record kinds it holds (`other` holds every kind not listed anywhere).
    pub kinds: &'static [&'static str],
    /// Its own columns, after [`COMMON`] and the attributes.
    pub columns: &'static [Column],
    /// What a row is.
    pub row: &'static str,
}

use Ty::*;

/// The tables of an export.
pub const FAMILIES: &[Family] = &[
    Family {
        name: "session",
        kinds: &["session", "env", "nav", "end", "dropped"],
        row: "one record",
        columns: &[
            c("url", Str),
            c("time_origin", F64),
            c("user_agent", Str),
            c("hardware_concurrency", F64),
            c("device_memory", F64),
            c("cross_origin_isolated", Bool),
            c("parent", Str),
            renamed("run_source", "source", Str),
            renamed("run_label", "label", Str),
            renamed("run_variant", "variant", Str),
            renamed("browser_obj", "browser", Json),
            c("status", I64),
            c("engine", Str),
            c("engine_version", Str),
            c("threads", I64),
            c("cpu", Str),
            c("framework", Str),
            c("version", Str),
            c("backend", Str),
            c("wasm_simd", Bool),
            c("wasm_threads", Bool),
            c("gpu", Json),
            c("adapter", Json),
            c("webnn", Bool),
            c("delegate", Str),
            c("running_mode", Str),
            c("task", Str),
            c("dom_content_loaded", F64),
            c("load", F64),
            c("reason", Str),
            c("error", Str),
            c("count", I64),
        ],
    },
    Family {
        name: "calls",
        kinds: &["model_load", "infer", "gen", "kernel"],
        row: "one record",
        columns: &[
            c("framework", Str),
            c("model", Str),
            c("backend", Str),
            c("api", Str),
            c("name", Str),
            c("start", F64),
            c("dur", F64),
            c("call", I64),
            c("bytes", F64),
            c("sha256", Str),
            c("model_origin", Str),
            c("model_bytes", F64),
            c("layer", Str),
            c("ort_run", Str),
            c("infer_seq", I64),
            c("ready", Str),
            c("ops", I64),
            c("compile_dur", F64),
            c("warmup", Bool),
            c("prompt_tokens", I64),
            c("output_tokens", I64),
            c("batch", I64),
            c("ttft", F64),
            c("tpot_mean", F64),
            c("tpot_p50", F64),
            c("tpot_p90", F64),
            c("tokens_per_s", F64),
            c("decode_tokens_per_s", F64),
            c("forward_passes", I64),
            c("stream", Bool),
            c("task", Str),
            c("running_mode", Str),
            c("delegate", Str),
            c("create_site", Str),
            c("path", Str),
            c("format", Str),
            c("converted", Str),
            c("convert_ms", F64),
            c("input_sha256", Str),
            c("bytes_added", F64),
            c("input_shapes", Json),
            c("output_shapes", Json),
            c("output_digest", Json),
            c("artifacts", Json),
            c("merged", Json),
            c("input_values", Json),
        ],
    },
    Family {
        name: "mem",
        kinds: &["mem"],
        row: "one record",
        columns: &[
            c("js_heap_used", F64),
            c("js_heap_total", F64),
            c("js_heap_limit", F64),
            c("wasm_bytes", F64),
            c("tf_bytes", F64),
            c("tf_gpu_bytes", F64),
            c("tf_tensors", F64),
            c("ua_bytes", F64),
            c("rss", F64),
            c("renderer_rss", F64),
        ],
    },
    Family {
        name: "frames",
        kinds: &["frames", "video_frames"],
        row: "one timestamp of a record's `t` array (`i` = its index; a record with no `t` gets one row with `i` null)",
        columns: &[
            // `i`, `t` and `presented` are the exploded arrays (see `row`).
            c("i", I64),
            c("t", F64),
            c("presented", I64),
            c("element", Str),
        ],
    },
    Family {
        name: "events",
        kinds: &["longtask", "loaf", "input", "probe", "paint"],
        row: "one record",
        columns: &[
            c("name", Str),
            c("start", F64),
            c("dur", F64),
            c("blocking_dur", F64),
            c("processing_start", F64),
            c("processing_end", F64),
            c("interaction_id", I64),
            c("delay", F64),
        ],
    },
    Family {
        name: "net",
        kinds: &["net"],
        row: "one record",
        columns: &[
            c("url", Str),
            c("method", Str),
            c("status", I64),
            c("content_type", Str),
            c("bytes", F64),
            c("start_unix_ms", F64),
            c("dur", F64),
            c("sha256", Str),
            c("error", Str),
        ],
    },
    Family {
        name: "other",
        kinds: &[],
        row: "one record of a kind no other table holds (all its fields in `extra`)",
        columns: &[],
    },
];

/// The index in [`FAMILIES`] of the table holding `kind`.
pub fn family_of(kind: &str) -> usize {
    FAMILIES
        .iter()
        .position(|f| f.kinds.contains(&kind))
        .unwrap_or(FAMILIES.len() - 1)
}

/// The columns of family `f`'s files with `partition_by` in folder names:
/// [`COMMON`], the [`ATTRS`] not partitioned by (as strings), the family's
/// columns, `extra`.
pub fn file_columns(f: &Family, partition_by: &[String]) -> Vec<Column> {
    let mut out: Vec<Column> = COMMON.to_vec();
    for a in ATTRS {
        if !partition_by.iter().any(|p| p == a) {
            out.push(c(a, Str));
        }
    }
    out.extend_from_slice(f.columns);
    out.push(c("extra", Json));
    out
}

/// The schema as Markdown tables (the body of `format/parquet-export.md`'s
/// column lists), so the documentation can be checked against the code.
pub fn markdown() -> String {
    let mut s = String::new();
    for f in FAMILIES {
        s.push_str(&format!("### `{}`\n\n", f.name));
        let kinds = if f.kinds.is_empty() {
            "any other".to_owned()
        } else {
            f.kinds
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        s.push_str(&format!("Kinds: {kinds}. A row is {}.\n\n", f.row));
        s.push_str("| column | type | record field |\n| --- | --- | --- |\n");
        for col in f.columns {
            s.push_str(&format!(
                "| `{}` | {} | `{}` |\n",
                col.name,
                col.ty.name(),
                col.field
            ));
        }
        s.push('\n');
    }
    s
}
