//! `call`, `send` and `recv`: a client of a (CPython) listener.

use mpconn::{Client, ClientOptions, Connection, Value};

use crate::args::{self, CallArgs, Common, Payload, RecvArgs, SendArgs};
use crate::fail::{failure, Doing, Failure};
use crate::out;

/// Connects (and authenticates) as `common` says; bounds reads and writes by `--timeout`.
fn connect(common: &Common) -> Result<(Connection, String), Failure> {
    let address = common.address()?;
    let shown = common.address.clone();
    let mut options = ClientOptions::new();
    options.authkey = common.authkey()?;
    options.digest = common.digest;
    options.timeout = common.timeout;
    options.max_message_size = Some(common.max_message_size);
    let mut conn = Client::connect_with(&address, &options)
        .map_err(|e| failure(&e, Doing::Connect(&shown)))?;
    if common.timeout.is_some() {
        conn.set_read_timeout(common.timeout)
            .and_then(|()| conn.set_write_timeout(common.timeout))
            .map_err(|e| failure(&e, Doing::Connect(&shown)))?;
    }
    Ok((conn, shown))
}

/// Sends one VALUE: pickled, or its raw bytes with `--bytes`.
fn send_one(conn: &mut Connection, payload: &Payload, peer: &str) -> Result<(), Failure> {
    let sent = match payload {
        Payload::Raw(bytes) => conn.send_bytes(bytes),
        Payload::Value(value) => conn.send(value),
    };
    sent.map_err(|e| failure(&e, Doing::Send(peer)))
}

/// Receives one message and prints it: its repr, or its bytes repr with `--bytes`.
fn recv_one(conn: &mut Connection, raw: bool, peer: &str) -> Result<(), Failure> {
    let message = conn
        .recv_bytes()
        .map_err(|e| failure(&e, Doing::Recv(peer)))?;
    let value = if raw {
        Value::bytes(&message)
    } else {
        mpconn::loads(&message).map_err(|e| failure(&e.into(), Doing::Recv(peer)))?
    };
    let budget = out::repr_budget(message.len());
    let repr = out::bounded(&value, budget).map_err(|_| {
        Failure::runtime(format!(
            "{peer} sent a message of {} bytes whose repr exceeds {budget} characters \
             (shared references repeated): not printed",
            message.len()
        ))
    })?;
    out::line(&repr);
    Ok(())
}

/// Closing after the work is done: a failure here (peer already gone) changes nothing.
fn finish(conn: Connection) {
    let _ = conn.close();
}

/// `mpconn call`: for each VALUE, send it, receive one reply, print the reply.
pub fn call(a: CallArgs) -> Result<(), Failure> {
    let values = args::values(&a.values, a.bytes)?;
    let (mut conn, peer) = connect(&a.common)?;
    for value in &values {
        send_one(&mut conn, value, &peer)?;
        recv_one(&mut conn, a.bytes, &peer)?;
    }
    finish(conn);
    Ok(())
}

/// `mpconn send`: send each VALUE, then close.
pub fn send(a: SendArgs) -> Result<(), Failure> {
    let values = args::values(&a.values, a.bytes)?;
    let (mut conn, peer) = connect(&a.common)?;
    for value in &values {
        send_one(&mut conn, value, &peer)?;
    }
    finish(conn);
    Ok(())
}

/// `mpconn recv`: receive N messages and print each.
pub fn recv(a: RecvArgs) -> Result<(), Failure> {
    let (mut conn, peer) = connect(&a.common)?;
    for _ in 0..a.count {
        recv_one(&mut conn, a.bytes, &peer)?;
    }
    finish(conn);
    Ok(())
}
