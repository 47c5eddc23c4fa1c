//! A Rust worker for a CPython manager: the remote-queue recipe's client side.
//!
//! ```text
//! cargo run --example manager_queue_worker -- 127.0.0.1:50000 abracadabra
//! ```
//!
//! The CPython server shares two queues (see `python_interop/peers/manager_server.py`):
//!
//! ```python
//! jobs, results = queue.Queue(), queue.Queue()
//! class QueueManager(BaseManager): pass
//! QueueManager.register('get_jobs', callable=lambda: jobs)
//! QueueManager.register('get_results', callable=lambda: results)
//! QueueManager(address=('127.0.0.1', 50000), authkey=b'abracadabra').get_server().serve_forever()
//! ```
//!
//! This program replaces the Python worker:
//!
//! ```python
//! class QueueManager(BaseManager): pass
//! QueueManager.register('get_jobs'); QueueManager.register('get_results')
//! m = QueueManager(address=('127.0.0.1', 50000), authkey=b'abracadabra'); m.connect()
//! jobs, results = m.get_jobs(), m.get_results()
//! while (job := jobs.get(timeout=60)) is not None:
//!     results.put((job, job * job))
//! ```
//!
//! Jobs are integers; `None` ends the worker. It prints `DONE <count>` at the end.

use std::time::Duration;

use mpconn::managers::ManagerClient;
use mpconn::{Address, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut argv = std::env::args().skip(1);
    let address: Address = argv
        .next()
        .ok_or("usage: manager_queue_worker HOST:PORT AUTHKEY")?
        .parse()?;
    let authkey = argv.next().unwrap_or_else(|| "abracadabra".into());

    let manager = ManagerClient::connect(&address, Some(authkey.as_bytes()))?;
    let jobs = manager.queue("get_jobs")?;
    let results = manager.queue("get_results")?;

    let mut done = 0u64;
    loop {
        let job = jobs
            .get_timeout(Duration::from_secs(60))?
            .ok_or("no job arrived within 60 s")?;
        let n = match job {
            Value::None => break,
            Value::Int(n) => n,
            other => return Err(format!("unexpected job of type {}", other.type_name()).into()),
        };
        let square = n.checked_mul(n).ok_or("job too large")?;
        results.put(Value::tuple(vec![Value::Int(n), Value::Int(square)]))?;
        done += 1;
    }
    println!("DONE {done}");
    Ok(())
}
