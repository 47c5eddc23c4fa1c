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
        group.bench_with_input(
            BenchmarkId::new("mpconn_loads_view", name),
            &data,
            |b, d| b.iter(|| mpconn::pickle::loads_view_with(d, &deep).unwrap()),
        );
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

/// The record of `dicts_10k` (`bench/payloads.py`), as a Rust user would declare it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Item {
    id: i64,
    name: String,
    price: f64,
    tags: (i64, i64, i64),
}

/// Typed paths on `dicts_10k` as `Vec<Item>`: straight from and to pickle bytes, through
/// `Value`, and serde-pickle's `from_slice` / `to_vec`.
fn typed(c: &mut Criterion) {
    let path = payload_dir().join("dicts_10k.pickle");
    let Ok(data) = std::fs::read(&path) else {
        eprintln!("skipping typed: {} not found", path.display());
        return;
    };
    let mut group = c.benchmark_group("typed");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let name = "dicts_10k";
    let items: Vec<Item> = mpconn::from_slice(&data).unwrap();
    group.bench_with_input(
        BenchmarkId::new("mpconn_from_slice", name),
        &data,
        |b, d| b.iter(|| mpconn::from_slice::<Vec<Item>>(d).unwrap()),
    );
    group.bench_with_input(
        BenchmarkId::new("mpconn_from_value_loads", name),
        &data,
        |b, d| b.iter(|| mpconn::from_value::<Vec<Item>>(mpconn::loads(d).unwrap()).unwrap()),
    );
    group.bench_with_input(
        BenchmarkId::new("serde_pickle_from_slice", name),
        &data,
        |b, d| {
            b.iter(|| {
                serde_pickle::from_slice::<Vec<Item>>(d, serde_pickle::DeOptions::new()).unwrap()
            })
        },
    );
    group.bench_with_input(BenchmarkId::new("mpconn_to_vec", name), &items, |b, v| {
        b.iter(|| mpconn::to_vec(v).unwrap())
    });
    group.bench_with_input(
        BenchmarkId::new("mpconn_dumps_to_value", name),
        &items,
        |b, v| b.iter(|| mpconn::dumps(&mpconn::to_value(v).unwrap()).unwrap()),
    );
    group.bench_with_input(
        BenchmarkId::new("serde_pickle_to_vec", name),
        &items,
        |b, v| b.iter(|| serde_pickle::to_vec(v, serde_pickle::SerOptions::new()).unwrap()),
    );
    group.finish();
}

/// 10 000 lookups by key in a 100 000-entry dict (int keys, then str keys).
fn lookups(c: &mut Criterion) {
    use mpconn::Value;
    let mut group = c.benchmark_group("lookup");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let n = 100_000i64;
    let ints = Value::dict((0..n).map(|i| (Value::Int(i), Value::Int(i))).collect());
    let strs = Value::dict(
        (0..n)
            .map(|i| (Value::from(format!("key{i}").as_str()), Value::Int(i)))
            .collect(),
    );
    // Warm the index (built on first lookup) outside the timing.
    let _ = ints.get(0);
    let _ = strs.get("key0");
    let keys: Vec<i64> = (0..10_000).map(|i| (i * 7919) % n).collect();
    let skeys: Vec<String> = keys.iter().map(|i| format!("key{i}")).collect();
    group.bench_function(BenchmarkId::new("dict_get_int", "10k_in_100k"), |b| {
        b.iter(|| keys.iter().filter(|&&k| ints.get(k).is_some()).count())
    });
    group.bench_function(BenchmarkId::new("dict_get_str", "10k_in_100k"), |b| {
        b.iter(|| skeys.iter().filter(|k| strs.get_str(k).is_some()).count())
    });
    group.finish();
}

criterion_group!(benches, codec, typed, lookups);
criterion_main!(benches);
