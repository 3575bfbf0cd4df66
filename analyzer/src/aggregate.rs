//! Aggregation across sessions and repeats: per group of the `--group-by`
//! keys, every metric's mean with a Student-t 95% confidence interval,
//! computed with a polars lazy group-by.

use polars::prelude::*;

use crate::stats::t_975;
use crate::table::{KEYS, M};
use crate::Error;

/// One metric in one group.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Cell {
    /// Mean over the group's rows with a value.
    pub mean: Option<f64>,
    /// Half-width of the 95% CI: t₀.₉₇₅,ₙ₋₁ · s / √n (`None` for n < 2).
    pub ci95: Option<f64>,
    /// Rows with a value.
    pub n: u32,
}

/// One group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Values of the group keys.
    pub keys: Vec<String>,
    /// Distinct sessions in the group.
    pub sessions: u32,
    /// One cell per [`M::ALL`].
    pub cells: Vec<Cell>,
}

impl Group {
    /// The cell of a metric.
    pub fn cell(&self, m: M) -> Cell {
        self.cells[m as usize]
    }
}

/// The aggregated table.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The grouping keys.
    pub keys: Vec<String>,
    /// Groups sorted by key values.
    pub groups: Vec<Group>,
    /// The same as a frame: keys, `sessions`, then `<metric>_mean`,
    /// `<metric>_ci95`, `<metric>_n` per metric.
    pub frame: DataFrame,
}

/// Checks `--group-by` names against [`KEYS`].
pub fn check_keys(keys: &[String]) -> Result<(), Error> {
    for k in keys {
        if !KEYS.contains(&k.as_str()) {
            return Err(Error::Usage(format!(
                "unknown --group-by key `{k}` (known: {})",
                KEYS.join(", ")
            )));
        }
    }
    Ok(())
}

/// Groups the metrics frame by `keys`: mean, sample std and count of each
/// metric (nulls ignored) in one lazy query, then the CI half-width
/// t₀.₉₇₅,ₙ₋₁ · std / √n per cell.
pub fn aggregate(df: &DataFrame, keys: &[String]) -> Result<Aggregate, Error> {
    check_keys(keys)?;
    let mut aggs: Vec<Expr> = vec![col("sid").n_unique().alias("sessions")];
    for m in M::ALL {
        let c = m.name();
        aggs.push(col(c).mean().alias(format!("{c}_mean")));
        aggs.push(col(c).std(1).alias(format!("{c}_std")));
        aggs.push(col(c).count().alias(format!("{c}_n")));
    }
    let by: Vec<Expr> = keys.iter().map(|k| col(k.as_str())).collect();
    let names: Vec<PlSmallStr> = keys.iter().map(|k| PlSmallStr::from(k.as_str())).collect();
    let lf = df.clone().lazy();
    let lf = if keys.is_empty() {
        lf.select(aggs)
    } else {
        lf.group_by(by).agg(aggs).sort(names, Default::default())
    };
    let out = lf.collect()?;
    let h = out.height();
    let str_col = |name: &str| -> Result<Vec<String>, Error> {
        let c = out.column(name)?.str()?.clone();
        Ok(c.iter().map(|x| x.unwrap_or("").to_owned()).collect())
    };
    let f64_col = |name: &str| -> Result<Vec<Option<f64>>, Error> {
        let c = out.column(name)?.cast(&DataType::Float64)?;
        Ok(c.f64()?.iter().collect())
    };
    let key_vals: Vec<Vec<String>> = keys.iter().map(|k| str_col(k)).collect::<Result<_, _>>()?;
    let sessions = f64_col("sessions")?;
    let mut groups: Vec<Group> = (0..h)
        .map(|i| Group {
            keys: key_vals.iter().map(|c| c[i].clone()).collect(),
            sessions: sessions[i].unwrap_or(0.0) as u32,
            cells: Vec::with_capacity(M::ALL.len()),
        })
        .collect();
    let mut cols: Vec<Column> = keys
        .iter()
        .map(|k| out.column(k).cloned())
        .collect::<Result<_, _>>()?;
    cols.push(out.column("sessions")?.cast(&DataType::UInt32)?);
    for m in M::ALL {
        let c = m.name();
        let (mean, std, n) = (
            f64_col(&format!("{c}_mean"))?,
            f64_col(&format!("{c}_std"))?,
            f64_col(&format!("{c}_n"))?,
        );
        let mut ci = Vec::with_capacity(h);
        for (i, g) in groups.iter_mut().enumerate() {
            let n_i = n[i].unwrap_or(0.0) as u32;
            let ci95 = match std[i] {
                Some(s) if n_i >= 2 => Some(t_975(n_i as usize - 1) * s / (n_i as f64).sqrt()),
                _ => None,
            };
            ci.push(ci95);
            g.cells.push(Cell {
                mean: mean[i],
                ci95,
                n: n_i,
            });
        }
        cols.push(Column::new(format!("{c}_mean").into(), mean));
        cols.push(Column::new(format!("{c}_ci95").into(), ci));
        cols.push(Column::new(
            format!("{c}_n").into(),
            n.iter()
                .map(|x| x.unwrap_or(0.0) as u32)
                .collect::<Vec<u32>>(),
        ));
    }
    Ok(Aggregate {
        keys: keys.to_vec(),
        groups,
        frame: DataFrame::new_infer_height(cols)?,
    })
}
