//! glibc's allocator hands freed memory back to the kernel (`madvise`) as soon as the top of
//! the heap is free. In a VM every such call costs TLB-shootdown interrupts on all cores; on
//! our machines that took about 40 % of the webhook → commit throughput
//! (`../shared/docs/LIMITS.md`). A high trim threshold keeps the memory for reuse instead.
//!
//! glibc reads the setting only from `GLIBC_TUNABLES` at process start, and changing it later
//! needs `unsafe` FFI (`mallopt`), which the workspace forbids. So the process replaces itself
//! once (`exec`, same pid, so signals and supervisors see no difference) with the variable set.

/// Keeps up to 1 GiB of freed memory at the top of the heap instead of trimming it.
const TUNABLE: &str = "glibc.malloc.trim_threshold";
const VALUE: &str = "1073741824";
/// Set to anything to keep glibc's defaults.
const OPT_OUT: &str = "SWITCHBOARD_GLIBC_DEFAULTS";

/// Re-executes the current program with the tuned allocator unless it already runs with it.
/// Returns only if no re-execution is needed or possible (then glibc's defaults stay).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune() {
    use std::os::unix::process::CommandExt;

    let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if current.contains(TUNABLE) || std::env::var_os(OPT_OUT).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let value = if current.is_empty() { format!("{TUNABLE}={VALUE}") } else { format!("{current}:{TUNABLE}={VALUE}") };
    let mut args = std::env::args_os();
    let mut cmd = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        cmd.arg0(arg0);
    }
    let err = cmd.args(args).env("GLIBC_TUNABLES", value).exec();
    eprintln!("note: running with glibc's default allocator settings ({err})");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune() {}
