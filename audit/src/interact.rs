//! `--interact`: synthetic user input at a fixed cadence (Chromium, through the
//! DevTools protocol), so responsiveness under load has Event Timing data.
//!
//! Every [`TICK`] the page gets one real input event sequence from the
//! browser's input pipeline (`Input.dispatchMouseEvent` /
//! `Input.dispatchKeyEvent`, not `element.click()`):
//! - a left click at the centre of the next *clickable* element, cycling
//!   through them: visible `button`s, `[role=button]`s, text `input`s and
//!   `textarea`s that are inside the viewport, not disabled, not inside a
//!   `<form>` (no submissions) and not marked `data-no-autoclick`; the list
//!   is refreshed every ten ticks;
//! - then, on every other tick, a key press alternating between `a` and
//!   `Backspace` (into the focused field, if any, so the text stays short).
//!
//! Links are never clicked, so the page is not navigated away.

use std::time::Duration;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::cdp::Cdp;

/// The input cadence.
pub const TICK: Duration = Duration::from_millis(500);

/// Finds clickable elements (see the module doc); returns `[{x, y}]`.
const TARGETS_JS: &str = r#"(() => {
  const sel = 'button, [role=button], input[type=text], input[type=search], input:not([type]), textarea';
  return Array.from(document.querySelectorAll(sel))
    .filter(e => !e.disabled && !e.closest('form') && !e.closest('a') && !e.hasAttribute('data-no-autoclick'))
    .map(e => e.getBoundingClientRect())
    .filter(r => r.width > 0 && r.height > 0)
    .map(r => ({ x: r.left + r.width / 2, y: r.top + r.height / 2 }))
    .filter(p => p.x >= 0 && p.y >= 0 && p.x < innerWidth && p.y < innerHeight);
})()"#;

/// What an interaction loop did (`{clicks, keys, errors}` in `audit-summary.json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct InteractStats {
    /// Clicks dispatched.
    pub clicks: u64,
    /// Key presses dispatched.
    pub keys: u64,
    /// Commands that failed (e.g. during a navigation).
    pub errors: u64,
}

async fn click(cdp: &Cdp, session: &str, x: f64, y: f64) -> Result<(), crate::AuditError> {
    for (kind, buttons) in [("mouseMoved", 0), ("mousePressed", 1), ("mouseReleased", 0)] {
        let mut p = json!({"type": kind, "x": x, "y": y});
        if kind != "mouseMoved" {
            p["button"] = Value::from("left");
            p["clickCount"] = Value::from(1);
            p["buttons"] = Value::from(buttons);
        }
        cdp.call("Input.dispatchMouseEvent", p, Some(session))
            .await?;
    }
    Ok(())
}

async fn key(cdp: &Cdp, session: &str, backspace: bool) -> Result<(), crate::AuditError> {
    let (down, up) = if backspace {
        (
            json!({"type": "rawKeyDown", "key": "Backspace", "code": "Backspace", "windowsVirtualKeyCode": 8}),
            json!({"type": "keyUp", "key": "Backspace", "code": "Backspace", "windowsVirtualKeyCode": 8}),
        )
    } else {
        (
            json!({"type": "keyDown", "key": "a", "code": "KeyA", "text": "a", "windowsVirtualKeyCode": 65}),
            json!({"type": "keyUp", "key": "a", "code": "KeyA", "windowsVirtualKeyCode": 65}),
        )
    };
    cdp.call("Input.dispatchKeyEvent", down, Some(session))
        .await?;
    cdp.call("Input.dispatchKeyEvent", up, Some(session))
        .await?;
    Ok(())
}

/// Sends input to the page every [`TICK`] until `cancel` fires.
pub async fn run(cdp: &Cdp, session: &str, cancel: CancellationToken) -> InteractStats {
    let mut stats = InteractStats::default();
    let mut targets: Vec<(f64, f64)> = Vec::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut i: u64 = 0;
    let mut refresh: u32 = 0;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return stats,
            _ = tick.tick() => {}
        }
        if refresh == 0 || targets.is_empty() {
            refresh = 10;
            match cdp.evaluate(session, TARGETS_JS).await {
                Ok(Value::Array(a)) => {
                    targets = a
                        .iter()
                        .filter_map(|p| Some((p["x"].as_f64()?, p["y"].as_f64()?)))
                        .collect();
                }
                Ok(_) => targets.clear(),
                Err(e) => {
                    tracing::debug!("interact: finding targets: {e}");
                    stats.errors += 1;
                }
            }
        }
        if !targets.is_empty() {
            let (x, y) = targets[(stats.clicks as usize) % targets.len()];
            match click(cdp, session, x, y).await {
                Ok(()) => stats.clicks += 1,
                Err(e) => {
                    tracing::debug!("interact: click: {e}");
                    stats.errors += 1;
                }
            }
        }
        if i % 2 == 1 {
            match key(cdp, session, stats.keys % 2 == 1).await {
                Ok(()) => stats.keys += 1,
                Err(e) => {
                    tracing::debug!("interact: key: {e}");
                    stats.errors += 1;
                }
            }
        }
        i += 1;
        refresh = refresh.saturating_sub(1);
    }
}
