//! Python's `<` for the values a shared list may hold, and a stable `list.sort()`.

use std::cmp::Ordering;

use num_bigint::BigInt;
use num_traits::ToPrimitive;

use super::PyException;
use crate::Value;

/// How deep tuples inside tuples are compared before giving up (comparison recursion).
const MAX_DEPTH: usize = 64;

fn unorderable(a: &Value, b: &Value) -> PyException {
    PyException::type_error(&format!(
        "'<' not supported between instances of '{}' and '{}'",
        a.type_name(),
        b.type_name()
    ))
}

enum Num {
    Int(BigInt),
    Float(f64),
}

fn num(v: &Value) -> Option<Num> {
    match v {
        Value::Bool(b) => Some(Num::Int(BigInt::from(u8::from(*b)))),
        Value::Int(i) => Some(Num::Int(BigInt::from(*i))),
        Value::BigInt(b) => Some(Num::Int((**b).clone())),
        Value::Float(f) => Some(Num::Float(*f)),
        _ => None,
    }
}

fn cmp_num(a: Num, b: Num) -> Ordering {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x.cmp(&y),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Num::Int(x), Num::Float(y)) => x
            .to_f64()
            .and_then(|x| x.partial_cmp(&y))
            .unwrap_or(Ordering::Equal),
        (Num::Float(x), Num::Int(y)) => y
            .to_f64()
            .and_then(|y| x.partial_cmp(&y))
            .unwrap_or(Ordering::Equal),
    }
}

/// Python's ordering of `a` and `b` (numbers, `str`, `bytes`, tuples and lists of
/// them), or the `TypeError` Python raises.
pub(crate) fn compare(a: &Value, b: &Value) -> Result<Ordering, PyException> {
    compare_at(a, b, 0)
}

fn compare_at(a: &Value, b: &Value, depth: usize) -> Result<Ordering, PyException> {
    let (a, b) = (a.unanchored(), b.unanchored());
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return Ok(cmp_num(x, y));
    }
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Ok(x.cmp(y)),
        (Value::Bytes(x), Value::Bytes(y)) => Ok(x.cmp(y)),
        (Value::Tuple(x), Value::Tuple(y)) | (Value::List(x), Value::List(y))
            if depth < MAX_DEPTH =>
        {
            for (p, q) in x.iter().zip(y.iter()) {
                if p != q {
                    return compare_at(p, q, depth + 1);
                }
            }
            Ok(x.len().cmp(&y.len()))
        }
        _ => Err(unorderable(a, b)),
    }
}

/// `items.sort(reverse=reverse)`: stable, as Python's; the first comparison Python would
/// refuse is the error (the list is left in some order, as Python leaves it).
pub(crate) fn sort(items: &mut [Value], reverse: bool) -> Result<(), PyException> {
    let mut failed = None;
    items.sort_by(|a, b| {
        if failed.is_some() {
            return Ordering::Equal;
        }
        let (x, y) = if reverse { (b, a) } else { (a, b) };
        compare(x, y).unwrap_or_else(|e| {
            failed = Some(e);
            Ordering::Equal
        })
    });
    failed.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_python() {
        let mut v = vec![
            Value::Int(3),
            Value::Float(1.5),
            Value::Bool(true),
            Value::Int(-2),
        ];
        sort(&mut v, false).unwrap();
        assert_eq!(Value::list(v.clone()).to_string(), "[-2, True, 1.5, 3]");
        sort(&mut v, true).unwrap();
        assert_eq!(Value::list(v).to_string(), "[3, 1.5, True, -2]");
        let mut t = vec![
            Value::tuple(vec![Value::from("b"), Value::Int(1)]),
            Value::tuple(vec![Value::from("a"), Value::Int(2)]),
        ];
        sort(&mut t, false).unwrap();
        assert_eq!(Value::list(t).to_string(), "[('a', 2), ('b', 1)]");
        let mut mixed = vec![Value::Int(1), Value::from("a")];
        let e = sort(&mut mixed, false).unwrap_err();
        assert!(e.is("builtins", "TypeError"), "{e}");
    }
}
