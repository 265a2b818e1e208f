//! The machine a run measured: CPU, cores, memory, kernel, toolchain, date.

use std::process::Command;

use crate::report::{Context, Rendered, Section};

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// `model name` of the first processor in /proc/cpuinfo.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

fn mem_total_gib() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib / 1024.0 / 1024.0)
}

pub struct Machine;

#[async_trait::async_trait]
impl Section for Machine {
    fn title(&self) -> String {
        "Machine".into()
    }

    async fn run(&self, ctx: &Context) -> anyhow::Result<Rendered> {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cores = std::thread::available_parallelism()
            .map(|n| n.get().to_string())
            .unwrap_or_else(|_| "unknown".into());
        let python = ctx
            .python
            .as_ref()
            .map(|p| {
                let p = p.to_string_lossy();
                let requests =
                    first_line(&p, &["-c", "import requests; print(requests.__version__)"]);
                format!("{}, requests {requests}", first_line(&p, &["--version"]))
            })
            .unwrap_or_else(|| "not given".into());
        // Other work on the machine shows up as noise in the timings: say how busy it was.
        let load = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| "unknown".into());
        let rows = [
            (
                "date (UTC)",
                chrono::Utc::now().format("%Y-%m-%d %H:%M").to_string(),
            ),
            (
                "CPU",
                cpu_model(&cpuinfo).unwrap_or_else(|| "unknown".into()),
            ),
            ("cores available", cores),
            (
                "memory",
                mem_total_gib()
                    .map(|g| format!("{g:.1} GiB"))
                    .unwrap_or_else(|| "unknown".into()),
            ),
            ("load average (1, 5, 15 min) at start", load),
            ("kernel", first_line("uname", &["-sr"])),
            ("architecture", std::env::consts::ARCH.to_string()),
            ("rustc", first_line("rustc", &["--version"])),
            ("Python (guide step)", python),
        ];
        let mut body = String::from("| | |\n|---|---|\n");
        for (k, v) in rows {
            body.push_str(&format!("| {k} | {v} |\n"));
        }
        Ok(Rendered {
            body,
            targets: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cpu_model_is_read_from_cpuinfo() {
        let text = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n";
        assert_eq!(
            super::cpu_model(text).as_deref(),
            Some("Intel(R) Xeon(R) CPU @ 2.20GHz")
        );
    }
}
