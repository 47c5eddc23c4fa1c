//! The Rust side of `python_interop/test_shared_memory.py`: shared memory blocks and
//! `ShareableList`s by the names CPython uses, and a `SharedMemoryManager` in both roles.
//!
//! ```text
//! shared_memory_peer list-create LITERAL        creates a ShareableList, prints its name
//! shared_memory_peer list-read NAME             prints ITEMS <repr> and FORMAT <format>
//! shared_memory_peer list-set NAME INDEX LITERAL
//! shared_memory_peer list-bytes LITERAL         prints the bytes Rust lays out, hex
//! shared_memory_peer shm-create SIZE HEX        creates a block, writes HEX at 0, prints its name
//! shared_memory_peer shm-read NAME              prints SIZE <n> and BYTES <hex>
//! shared_memory_peer shm-write NAME OFFSET HEX
//! shared_memory_peer unlink NAME
//! shared_memory_peer pickled-read HEX           a pickled SharedMemory / ShareableList:
//!                                               prints SHM <name> <size> or LIST <name> <repr>
//! shared_memory_peer pickled-make shm|list NAME prints the pickle Rust makes for it, hex
//! shared_memory_peer server ADDRESS AUTHKEY     a SharedMemoryManager server (READY <address>)
//! shared_memory_peer client ADDRESS AUTHKEY     drives a CPython SharedMemoryManager
//! ```
//!
//! LITERAL is a Python literal (`[1, 'a', None]`, `b'x'`). Blocks this program creates
//! outlive it (Rust registers them with no tracker): the caller unlinks them. Errors go
//! to stderr as `ERROR <Debug form>`, exit status 1.

#[cfg(unix)]
fn main() {
    if let Err(e) = unix::run(std::env::args().skip(1).collect()) {
        eprintln!("ERROR {e:?}");
        std::process::exit(1);
    }
}

#[cfg(not(unix))]
fn main() {
    eprintln!("shared memory blocks are POSIX only for now");
    std::process::exit(1);
}

#[cfg(unix)]
mod unix {
    use std::error::Error;

    use mpconn::managers::{ManagerClient, ManagerServer, Registry};
    use mpconn::shared_memory::{layout, Item, ShareableList, SharedMemory, SharedMemoryError};
    use mpconn::{Address, Value};

    type Result<T> = std::result::Result<T, Box<dyn Error>>;

    fn items(literal: &str) -> Result<Vec<Item>> {
        let value: Value = literal.parse()?;
        let list = value.as_list().ok_or("want a list literal")?;
        list.iter()
            .map(|v| {
                Item::from_value(v).ok_or_else(|| format!("not a ShareableList item: {v}").into())
            })
            .collect()
    }

    fn item(literal: &str) -> Result<Item> {
        Ok(items(&format!("[{literal}]"))?.remove(0))
    }

    fn repr(items: &[Item]) -> String {
        Value::list(items.iter().map(Item::to_value).collect()).to_string()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Result<Vec<u8>> {
        (0..text.len())
            .step_by(2)
            .map(|i| {
                Ok(u8::from_str_radix(
                    text.get(i..i + 2).ok_or("odd hex")?,
                    16,
                )?)
            })
            .collect()
    }

    fn arg(args: &[String], i: usize) -> Result<&str> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("missing argument {i}").into())
    }

    pub fn run(args: Vec<String>) -> Result<()> {
        match arg(&args, 0)? {
            "list-create" => {
                let list = ShareableList::create(&items(arg(&args, 1)?)?)?;
                println!("{}", list.name());
            }
            "list-read" => {
                let list = ShareableList::open(arg(&args, 1)?)?;
                println!("ITEMS {}", repr(&list.to_vec()?));
                println!("FORMAT {}", list.format()?);
            }
            "list-set" => {
                let mut list = ShareableList::open(arg(&args, 1)?)?;
                list.set(arg(&args, 2)?.parse()?, &item(arg(&args, 3)?)?)?;
            }
            "list-bytes" => println!("{}", hex(&layout::encode(&items(arg(&args, 1)?)?)?)),
            "shm-create" => {
                let mut block = SharedMemory::create(arg(&args, 1)?.parse()?)?;
                block.write_at(0, &unhex(arg(&args, 2)?)?)?;
                println!("{}", block.name());
            }
            "shm-read" => {
                let block = SharedMemory::open(arg(&args, 1)?)?;
                println!("SIZE {}", block.size());
                println!("BYTES {}", hex(&block.to_vec()));
            }
            "shm-write" => {
                let mut block = SharedMemory::open(arg(&args, 1)?)?;
                block.write_at(arg(&args, 2)?.parse()?, &unhex(arg(&args, 3)?)?)?;
            }
            "unlink" => SharedMemory::unlink_name(arg(&args, 1)?)?,
            "pickled-read" => {
                let value = mpconn::loads(&unhex(arg(&args, 1)?)?)?;
                if let Ok(block) = SharedMemory::from_value(&value) {
                    println!("SHM {} {}", block.name(), block.size());
                } else {
                    let list = ShareableList::from_value(&value)?;
                    println!("LIST {} {}", list.name(), repr(&list.to_vec()?));
                }
            }
            "pickled-make" => {
                let value = match arg(&args, 1)? {
                    "shm" => SharedMemory::open(arg(&args, 2)?)?.to_value(),
                    _ => ShareableList::open(arg(&args, 2)?)?.to_value(),
                };
                println!("{}", hex(&mpconn::dumps(&value)?));
            }
            "server" => server(arg(&args, 1)?.parse()?, arg(&args, 2)?)?,
            "client" => client(arg(&args, 1)?.parse()?, arg(&args, 2)?)?,
            other => return Err(format!("unknown command {other:?}").into()),
        }
        Ok(())
    }

    /// A `SharedMemoryManager` server; prints the segments still tracked when it stops.
    fn server(address: Address, key: &str) -> Result<()> {
        let mut registry = Registry::new();
        let segments = registry.track_shared_memory();
        let server = ManagerServer::bind(&address, Some(key.as_bytes()), registry)?;
        println!("READY {}", server.address());
        server.serve_forever()?;
        println!("STOPPED segments={:?}", segments.segments());
        Ok(())
    }

    fn gone(name: &str) -> bool {
        matches!(SharedMemory::open(name), Err(SharedMemoryError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound)
    }

    /// What a Python program does with `SharedMemoryManager(address, authkey).connect()`.
    fn client(address: Address, key: &str) -> Result<()> {
        let m = ManagerClient::connect(&address, Some(key.as_bytes()))?;
        let mut block = m.shared_memory(100)?;
        block.write_at(0, b"from rust")?;
        let list = m.shareable_list(&[Item::Int(7), Item::from("seven"), Item::None])?;
        let listed = m.list_segments()?;
        if listed != [block.name(), list.name()] {
            return Err(format!("list_segments() = {listed:?}").into());
        }
        println!("TRACKED {} {}", block.name(), list.name());
        m.release_segment(block.name())?;
        if !gone(block.name()) {
            return Err("release_segment did not unlink the block".into());
        }
        match m.release_segment(block.name()) {
            Err(mpconn::managers::ManagerError::Traceback(t)) if t.contains("ValueError") => {}
            other => return Err(format!("releasing twice gave {other:?}").into()),
        }
        if m.list_segments()? != [list.name()] {
            return Err("release_segment did not forget the name".into());
        }
        m.shutdown()?;
        if !gone(list.name()) {
            return Err("shutdown did not unlink the tracked list".into());
        }
        println!("OK client");
        Ok(())
    }
}
