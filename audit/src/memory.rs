//! Browser process memory read from outside the page, from Linux `/proc`.
//!
//! [`tree_rss_bytes`] is the `rss` field of the `mem` records `webinfer audit`
//! writes: the sum of `VmRSS` (resident set size, `/proc/PID/status`) over
//! the launched browser process and all its descendants (GPU, network,
//! renderer and utility processes). Pages shared between processes count once
//! per process, so the sum can exceed the memory really in use; it is the
//! number `top`/`ps` users would add up.
//!
//! [`renderer_rss_bytes`] is their `renderer_rss` field: the `VmRSS` of the
//! page's own content process alone (see its rule).

use std::collections::HashMap;

/// `(pid, ppid, state)` of every process in `/proc`.
fn all_processes() -> Vec<(u32, u32, char)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        parse_stat(&stat).map(|(ppid, state)| (pid, ppid, state))
    })
    .collect()
}

/// `(ppid, state)` from the text of `/proc/PID/stat` (the command name may
/// hold spaces and parentheses, so fields are read after the last `)`).
fn parse_stat(stat: &str) -> Option<(u32, char)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut it = rest.split_whitespace();
    let state = it.next()?.chars().next()?;
    let ppid = it.next()?.parse().ok()?;
    Some((ppid, state))
}

/// Every live descendant of `root` (children, grandchildren, …), not `root`.
pub fn descendants(root: u32) -> Vec<u32> {
    let procs = all_processes();
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (pid, ppid, state) in procs {
        if state != 'Z' {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        if let Some(c) = children.get(&p) {
            for &k in c {
                if !out.contains(&k) && k != root {
                    out.push(k);
                    stack.push(k);
                }
            }
        }
    }
    out
}

/// Whether `pid` exists and is not a zombie.
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => parse_stat(&s).is_some_and(|(_, st)| st != 'Z'),
        Err(_) => false,
    }
}

/// `VmRSS` of one process in bytes (`None` for kernel threads or gone processes).
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Sum of `VmRSS` over `root` and all its descendants, in bytes, with the
/// number of processes counted; `None` when `root` is gone.
pub fn tree_rss_bytes(root: u32) -> Option<(u64, usize)> {
    let own = rss_bytes(root)?;
    let kids = descendants(root);
    let mut sum = own;
    let mut n = 1;
    for k in kids {
        if let Some(r) = rss_bytes(k) {
            sum += r;
            n += 1;
        }
    }
    Some((sum, n))
}

/// Whether a command line (`/proc/PID/cmdline` split at NUL and space) is a web
/// content process: Chromium's `--type=renderer` without
/// `--extension-process` (extensions' renderers), or Firefox's
/// `-contentproc` whose process type (the last argument) is `tab`.
pub fn is_content_process(args: &[&str]) -> bool {
    if args.contains(&"--type=renderer") {
        return !args.contains(&"--extension-process");
    }
    args.contains(&"-contentproc") && args.last() == Some(&"tab")
}

fn cmdline(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/cmdline")).ok()
}

/// The page's renderer RSS in bytes, with its pid: the largest `VmRSS` among
/// `root`'s descendants that are content processes
/// ([`is_content_process`]). One audit run opens one page, so its renderer
/// is the content process holding the page's heap, wasm memory and models;
/// the browser's spare and preallocated renderers hold an empty page.
/// `None` when there is no content process yet.
pub fn renderer_rss_bytes(root: u32) -> Option<(u64, u32)> {
    descendants(root)
        .into_iter()
        .filter(|&pid| {
            cmdline(pid).is_some_and(|c| {
                // Chromium's zygote children rewrite their title: one
                // space-separated string instead of NUL-separated arguments
                let args: Vec<&str> = c.split(['\0', ' ']).filter(|a| !a.is_empty()).collect();
                is_content_process(&args)
            })
        })
        .filter_map(|pid| Some((rss_bytes(pid)?, pid)))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_processes_are_recognised() {
        assert!(is_content_process(&[
            "/usr/lib/chromium/chromium",
            "--type=renderer",
            "--crashpad-handler-pid=7",
            "--renderer-client-id=5",
        ]));
        assert!(!is_content_process(&[
            "/usr/lib/chromium/chromium",
            "--type=renderer",
            "--extension-process",
        ]));
        assert!(!is_content_process(&[
            "/usr/lib/chromium/chromium",
            "--type=gpu-process"
        ]));
        let ff = |kind| {
            vec![
                "/usr/lib/firefox-esr/firefox-esr",
                "-contentproc",
                "-isForBrowser",
                "-appDir",
                "/usr/lib/firefox-esr/browser",
                "5",
                kind,
            ]
        };
        assert!(is_content_process(&ff("tab")));
        assert!(!is_content_process(&ff("rdd")));
        assert!(!is_content_process(&ff("socket")));
        assert!(!is_content_process(&[
            "/usr/lib/firefox-esr/firefox-esr",
            "-headless"
        ]));
    }

    #[test]
    fn stat_and_status_parse() {
        assert_eq!(parse_stat("42 (a (b) c) S 7 42 42 0"), Some((7, 'S')));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(
            parse_vm_rss("Name:\tx\nVmRSS:\t  1234 kB\n"),
            Some(1234 * 1024)
        );
        assert_eq!(parse_vm_rss("Name:\tkthreadd\n"), None);
    }

    #[test]
    fn a_real_process_tree_is_found_and_measured() {
        // sh starts a sleeping child: both are in the tree of sh.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & wait"])
            .spawn()
            .unwrap();
        let root = child.id();
        let mut kids = Vec::new();
        for _ in 0..50 {
            kids = descendants(root);
            if !kids.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(kids.len(), 1, "{kids:?}");
        let (rss, n) = tree_rss_bytes(root).unwrap();
        assert_eq!(n, 2);
        assert!(rss >= rss_bytes(root).unwrap() + rss_bytes(kids[0]).unwrap() - 8192);
        assert!(is_alive(kids[0]));
        // SAFETY: plain kill(2) on our own children.
        unsafe {
            libc::kill(kids[0] as libc::pid_t, libc::SIGKILL);
        }
        child.wait().unwrap();
        assert!(!is_alive(root));
        assert_eq!(tree_rss_bytes(root), None);
    }
}
