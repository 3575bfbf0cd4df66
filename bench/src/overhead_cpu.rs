//! CPU clocks for per-core numbers: the calling thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`) and a child process's CPU time and peak RSS
//! (`wait4`'s `rusage`).

use std::io;
use std::process::Child;
use std::time::Duration;

/// CPU time the calling thread has used so far (user + system).
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant
    // Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// How a child process ended and what it used.
#[derive(Debug, Clone, Copy)]
pub struct ChildUsage {
    /// Whether it exited with status 0.
    pub success: bool,
    /// User CPU time.
    pub user: Duration,
    /// System CPU time.
    pub system: Duration,
    /// Peak resident set size in bytes (`ru_maxrss`).
    pub max_rss: u64,
}

impl ChildUsage {
    /// User + system CPU time.
    pub fn cpu(&self) -> Duration {
        self.user + self.system
    }
}

fn tv(t: libc::timeval) -> Duration {
    Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000)
}

/// Waits for `child` with `wait4`, returning its own resource usage (not
/// that of other children). `child` must not have been waited for.
pub fn wait_with_usage(child: Child) -> io::Result<ChildUsage> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; zeroed is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; `pid` is our un-reaped child.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if rc == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    // The child is reaped; dropping `Child` neither waits nor kills.
    drop(child);
    Ok(ChildUsage {
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        user: tv(ru.ru_utime),
        system: tv(ru.ru_stime),
        // Linux reports ru_maxrss in KiB.
        max_rss: ru.ru_maxrss as u64 * 1024,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_cpu_advances_with_work_and_not_with_sleep() {
        let a = thread_cpu();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let b = thread_cpu();
        assert!(b > a, "busy loop used no thread CPU time");
        std::thread::sleep(Duration::from_millis(200));
        let c = thread_cpu();
        // Sleeping uses (almost) no CPU: far less than the 200 ms slept.
        assert!(c - b < Duration::from_millis(100), "{:?}", c - b);
    }

    #[test]
    fn child_usage_reports_exit_status_and_rss() {
        let ok = std::process::Command::new("sh")
            .args(["-c", "exit 0"])
            .spawn()
            .unwrap();
        let u = wait_with_usage(ok).unwrap();
        assert!(u.success);
        assert!(u.max_rss > 0);
        let bad = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .unwrap();
        assert!(!wait_with_usage(bad).unwrap().success);
    }
}
