//! Codec benchmarks: mpconn's pickle decoder and encoder against serde-pickle, on payloads
//! pickled by CPython (written by `bench/payloads.py`; `make bench` creates them and times
//! CPython's own `pickle.loads`/`dumps` on the same files).
//!
//! Run: `MPCONN_BENCH_PAYLOADS=target/bench-payloads cargo bench --bench codec`

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const PAYLOADS: &[&str] = &[
    "dicts_10k",
    "ints_1m",
    "bytes_100m",
    "strings_100k",
    "deep_100k",
];

fn payload_dir() -> PathBuf {
    std::env::var_os("MPCONN_BENCH_PAYLOADS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/bench-payloads"))
}

fn codec(c: &mut Criterion) {
    let dir = payload_dir();
    let mut group = c.benchmark_group("codec");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let deep = mpconn::DecodeOptions::new().max_depth(200_000);
    for name in PAYLOADS {
        let path = dir.join(format!("{name}.pickle"));
        let Ok(data) = std::fs::read(&path) else {
            eprintln!(
                "skipping {name}: {} not found (run bench/payloads.py)",
                path.display()
            );
            continue;
        };
        group.throughput(Throughput::Bytes(data.len() as u64));
        let value = match mpconn::pickle::loads_with(&data, &deep) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("mpconn cannot decode {name}: {e}");
                continue;
            }
        };
        group.bench_with_input(BenchmarkId::new("mpconn_loads", name), &data, |b, d| {
            b.iter(|| mpconn::pickle::loads_with(d, &deep).unwrap())
        });
        match mpconn::dumps(&value) {
            Ok(_) => {
                group.bench_with_input(BenchmarkId::new("mpconn_dumps", name), &value, |b, v| {
                    b.iter(|| mpconn::dumps(v).unwrap())
                });
            }
            Err(e) => eprintln!("mpconn cannot encode {name}: {e}"),
        }
        if name.starts_with("deep") {
            // serde-pickle's decoder recurses per nesting level: 100k levels overflow the
            // stack and abort the process, so it is not run on this payload.
            eprintln!("serde-pickle skipped on {name}: it overflows the stack");
            continue;
        }
        match serde_pickle::value_from_slice(&data, serde_pickle::DeOptions::new()) {
            Ok(_) => {
                group.bench_with_input(
                    BenchmarkId::new("serde_pickle_loads", name),
                    &data,
                    |b, d| {
                        b.iter(|| serde_pickle::value_from_slice(d, serde_pickle::DeOptions::new()))
                    },
                );
            }
            Err(e) => eprintln!("serde-pickle cannot decode {name}: {e}"),
        }
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
