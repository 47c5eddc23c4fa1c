//! Indexing: `value["key"]`, `value[0]`, [`Value::get`], [`Value::get_index`].
//!
//! As with serde_json, `value["key"]` and `value[0]` never panic: a missing key, an index
//! out of range or a value of the wrong kind gives `&Value::None`. Use [`Value::get`] to
//! tell a missing entry from a present `None`.
//!
//! `["key"]` reads a `dict` (or the dict items of an [`Object`](super::Object) such as an
//! `OrderedDict`); `[i]` reads a `list` or `tuple` (or an object's list items). All
//! indexing looks through [`Value::Anchor`].

use std::ops::Index;

use super::Value;

static NONE: Value = Value::None;

impl Value {
    /// The entry for `key`: for a `dict` (or an object's dict items), the value whose key
    /// equals `key` by Python's `==` (so `get(1)` finds the key `1.0` or `True`); for a
    /// `list` or `tuple` (or an object's list items), an `int` key is a position, negative
    /// ones counting from the end as in Python. `None` when absent.
    ///
    /// ```
    /// # use mpconn::Value;
    /// let v: Value = "{'a': [10, 20], 3: None}".parse().unwrap();
    /// assert_eq!(v.get("a").and_then(|l| l.get(-1)), Some(&Value::Int(20)));
    /// assert_eq!(v.get(3), Some(&Value::None));
    /// assert_eq!(v.get("zz"), None);
    /// ```
    pub fn get<K: Into<Value>>(&self, key: K) -> Option<&Value> {
        let key = key.into();
        match self.unanchored() {
            Value::Dict(pairs) => pairs.position(&key).map(|i| &pairs[i].1),
            Value::Object(o) if !o.dict_items.is_empty() => find(&o.dict_items, &key),
            Value::List(items) | Value::Tuple(items) => position(items, &key),
            Value::Object(o) => position(&o.list_items, &key),
            _ => None,
        }
    }

    /// The item at `index` of a `list` or `tuple` (or an object's list items).
    pub fn get_index(&self, index: usize) -> Option<&Value> {
        match self.unanchored() {
            Value::List(items) | Value::Tuple(items) => items.get(index),
            Value::Object(o) => o.list_items.get(index),
            _ => None,
        }
    }

    /// The value of the `str` key `key` in a `dict` (or an object's dict items).
    pub fn get_str(&self, key: &str) -> Option<&Value> {
        let pairs = match self.unanchored() {
            Value::Dict(pairs) => return pairs.position_str(key).map(|i| &pairs[i].1),
            Value::Object(o) => o.dict_items.as_slice(),
            _ => return None,
        };
        pairs
            .iter()
            .find(|(k, _)| matches!(k.unanchored(), Value::Str(s) if s == key))
            .map(|(_, v)| v)
    }
}

fn find<'a>(pairs: &'a [(Value, Value)], key: &Value) -> Option<&'a Value> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn position<'a>(items: &'a [Value], key: &Value) -> Option<&'a Value> {
    let i = match key.unanchored() {
        Value::Int(i) => *i,
        Value::Bool(b) => i64::from(*b),
        _ => return None,
    };
    let i = if i < 0 {
        i.checked_add(i64::try_from(items.len()).ok()?)?
    } else {
        i
    };
    items.get(usize::try_from(i).ok()?)
}

impl Index<&str> for Value {
    type Output = Value;
    /// The value for a `str` key, or `&Value::None` when absent.
    fn index(&self, key: &str) -> &Value {
        self.get_str(key).unwrap_or(&NONE)
    }
}

impl Index<usize> for Value {
    type Output = Value;
    /// The item at a position, or `&Value::None` when out of range.
    fn index(&self, index: usize) -> &Value {
        self.get_index(index).unwrap_or(&NONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_is_none() {
        let v = Value::dict(vec![(Value::from("a"), Value::list(vec![Value::Int(1)]))]);
        assert!(matches!(v["a"][0], Value::Int(1)));
        assert!(v["b"].is_none());
        assert!(v["a"][5].is_none());
        assert!(Value::Int(3)["x"].is_none());
        assert_eq!(v.get("a").and_then(|l| l.get(-1)), Some(&Value::Int(1)));
    }

    #[test]
    fn large_dicts_find_keys_by_python_equality() {
        let mut v = Value::dict(
            (0..100)
                .map(|i| (Value::Int(i), Value::from(format!("v{i}").as_str())))
                .chain([(Value::from("k"), Value::Int(-1))])
                .collect(),
        );
        assert_eq!(v.get(1.0).and_then(Value::as_str), Some("v1"));
        assert_eq!(v.get(true).and_then(Value::as_str), Some("v1"));
        assert_eq!(v.get(99).and_then(Value::as_str), Some("v99"));
        assert_eq!(v.get(1.5), None);
        assert_eq!(v["k"], Value::Int(-1));
        assert!(v.get(100).is_none());
        // Insertion order is kept, and a change drops the index.
        if let Value::Dict(pairs) = &mut v {
            let pairs = std::sync::Arc::make_mut(pairs);
            assert!(matches!(pairs[0].0, Value::Int(0)));
            pairs.push((Value::Int(100), Value::None));
            pairs[1].0 = Value::from("one");
        }
        assert_eq!(v.get(100), Some(&Value::None));
        assert_eq!(v.get(1), None);
        assert_eq!(v.get("one").and_then(Value::as_str), Some("v1"));
    }

    #[test]
    fn the_first_of_equal_keys_is_found_as_a_scan_finds_it() {
        let pairs: Vec<(Value, Value)> = (0..20)
            .map(|i| (Value::Int(i), Value::Int(i)))
            .chain([(Value::Float(3.0), Value::Int(-3))])
            .collect();
        let v = Value::dict(pairs);
        assert_eq!(v.get(3), Some(&Value::Int(3)));
    }
}
