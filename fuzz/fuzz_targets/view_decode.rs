//! Any bytes into `loads_view` (the read-only view): never a panic, the same error as
//! `loads`, and, when the view is the borrowed arena, every node reachable through its
//! accessors with the owned value's shape.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = mpconn::DecodeOptions::new().max_alloc(4 << 20);
    let owned = mpconn::pickle::loads_with(data, &opts);
    let view = mpconn::pickle::loads_view_with(data, &opts);
    match (&owned, &view) {
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (Ok(v), Ok(view)) => {
            // Walk both (bounded: shared nodes may be reached many times).
            let mut work = vec![(view.root(), v.clone())];
            let mut steps = 0;
            while let Some((r, v)) = work.pop() {
                steps += 1;
                if steps > 10_000 {
                    break;
                }
                let v = v.unanchored().clone();
                if matches!(v, mpconn::Value::Ref(_)) {
                    continue;
                }
                assert_eq!(r.type_name(), v.type_name());
                assert_eq!(r.len(), v.len());
                assert_eq!(r.as_i64(), v.as_i64());
                assert_eq!(r.as_bytes(), v.as_bytes());
                assert_eq!(r.as_str(), v.as_str());
                if let (Some(items), Some(xs)) = (r.iter(), v.as_slice()) {
                    work.extend(items.zip(xs.iter().cloned()));
                }
                if let (Some(pairs), Some(xs)) = (r.items(), v.as_dict()) {
                    for ((rk, rv), (k, x)) in pairs.zip(xs.iter()) {
                        work.push((rk, k.clone()));
                        work.push((rv, x.clone()));
                    }
                }
            }
        }
        (Err(e), Ok(_)) => assert!(matches!(e.kind, mpconn::pickle::PickleErrorKind::AllocLimit(_))),
        (Ok(_), Err(e)) => panic!("view refused what loads took: {e}"),
    }
});
