//! A minimal Chrome DevTools Protocol client over a WebSocket: commands with
//! ids and replies, flat sessions (`sessionId`), and events for whoever
//! subscribed ([`Cdp::subscribe`]; dropped when nobody listens).
//!
//! `webinfer audit` uses it to attach to the audited page, to send synthetic
//! input ([`crate::interact`]) and to navigate the page away at the end of a
//! run so the hooks see `pagehide` and flush their last records.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::error::AuditError;

/// How long one command may wait for its reply.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;
type Subscribers = Arc<Mutex<Vec<mpsc::UnboundedSender<Value>>>>;

/// A connection to a browser's DevTools endpoint.
pub struct Cdp {
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    subscribers: Subscribers,
    next_id: AtomicU64,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl std::fmt::Debug for Cdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cdp").finish_non_exhaustive()
    }
}

impl Drop for Cdp {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

fn lock(
    p: &Pending,
) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Result<Value, String>>>> {
    p.lock().unwrap_or_else(|e| e.into_inner())
}

impl Cdp {
    /// Connects to `ws_url` (the browser target from `DevToolsActivePort`).
    pub async fn connect(ws_url: &str) -> Result<Cdp, AuditError> {
        let (ws, _) =
            tokio::time::timeout(COMMAND_TIMEOUT, tokio_tungstenite::connect_async(ws_url))
                .await
                .map_err(|_| AuditError::Cdp(format!("connecting to {ws_url} timed out")))?
                .map_err(|e| AuditError::Cdp(format!("connecting to {ws_url}: {e}")))?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut rx) = mpsc::unbounded_channel::<String>();
        let writer = tokio::spawn(async move {
            while let Some(text) = rx.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
        let p2 = pending.clone();
        let subscribers: Subscribers = Arc::new(Mutex::new(Vec::new()));
        let s2 = subscribers.clone();
        let reader = tokio::spawn(async move {
            while let Some(msg) = stream.next().await {
                let text = match msg {
                    Ok(Message::Text(t)) => t.to_string(),
                    Ok(Message::Close(_)) | Err(_) => break,
                    Ok(_) => continue,
                };
                let Ok(v) = serde_json::from_str::<Value>(&text) else {
                    tracing::debug!("CDP: unparsable message");
                    continue;
                };
                let Some(id) = v.get("id").and_then(Value::as_u64) else {
                    // An event: to every live subscriber.
                    let mut subs = s2.lock().unwrap_or_else(|e| e.into_inner());
                    subs.retain(|tx| tx.send(v.clone()).is_ok());
                    continue;
                };
                let reply = match v.get("error") {
                    Some(e) => Err(e.to_string()),
                    None => Ok(v.get("result").cloned().unwrap_or(Value::Null)),
                };
                if let Some(tx) = lock(&p2).remove(&id) {
                    let _ = tx.send(reply);
                }
            }
            // Connection gone: fail every waiting command.
            for (_, tx) in lock(&p2).drain() {
                let _ = tx.send(Err("the DevTools connection closed".into()));
            }
        });
        Ok(Cdp {
            out,
            pending,
            subscribers,
            next_id: AtomicU64::new(1),
            reader,
            writer,
        })
    }

    /// Every event (a message without `id`: `{method, params, sessionId?}`)
    /// that arrives from now on, in order, until the receiver is dropped.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Value> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        rx
    }

    /// Sends `method` with `params` (to the page session `session` when
    /// given) and waits for the result.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        session: Option<&str>,
    ) -> Result<Value, AuditError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = Value::from(s);
        }
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id, tx);
        if self.out.send(msg.to_string()).is_err() {
            lock(&self.pending).remove(&id);
            return Err(AuditError::Cdp(format!(
                "{method}: the DevTools connection closed"
            )));
        }
        match tokio::time::timeout(COMMAND_TIMEOUT, rx).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(e))) => Err(AuditError::Cdp(format!("{method}: {e}"))),
            Ok(Err(_)) => Err(AuditError::Cdp(format!(
                "{method}: the DevTools connection closed"
            ))),
            Err(_) => {
                lock(&self.pending).remove(&id);
                Err(AuditError::Cdp(format!(
                    "{method}: no reply within {COMMAND_TIMEOUT:?}"
                )))
            }
        }
    }

    /// Attaches to the first page target and returns its flat session id.
    pub async fn attach_to_page(&self) -> Result<String, AuditError> {
        let deadline = tokio::time::Instant::now() + COMMAND_TIMEOUT;
        loop {
            let targets = self.call("Target.getTargets", json!({}), None).await?;
            let page = targets["targetInfos"]
                .as_array()
                .and_then(|a| a.iter().find(|t| t["type"] == "page"))
                .and_then(|t| t["targetId"].as_str())
                .map(str::to_owned);
            if let Some(target) = page {
                let r = self
                    .call(
                        "Target.attachToTarget",
                        json!({"targetId": target, "flatten": true}),
                        None,
                    )
                    .await?;
                return r["sessionId"].as_str().map(str::to_owned).ok_or_else(|| {
                    AuditError::Cdp("Target.attachToTarget gave no sessionId".into())
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(AuditError::Cdp("no page target appeared".into()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Evaluates `expression` in the page and returns its JSON value.
    pub async fn evaluate(&self, session: &str, expression: &str) -> Result<Value, AuditError> {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
                Some(session),
            )
            .await?;
        if let Some(ex) = r.get("exceptionDetails") {
            return Err(AuditError::Cdp(format!("evaluation threw: {ex}")));
        }
        Ok(r["result"]["value"].clone())
    }
}
