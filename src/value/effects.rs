//! [`Effects`]: what a pickle *did* to or after an object, besides building it.
//!
//! A pickle is a small program. CPython's own pickler and the libraries that ship code
//! (cloudpickle, dill) use it for more than building values:
//!
//! * `state_setter(obj, state)` followed by `POP`: the sixth item of a `__reduce__` tuple
//!   (Python 3.8+). cloudpickle fills every function and class it pickles by value this way
//!   (`_function_setstate`, `_class_setstate`).
//! * A call whose result is thrown away (`POP`): dill sets closure cells and class
//!   attributes with `setattr(...)` calls.
//! * A container filled *after* something else already received it: dill passes a
//!   function's globals dict to `_create_function` empty and fills it later
//!   (`GET d … SETITEM POP`).
//!
//! None of these leave a trace in the objects a decoder builds, yet dropping them changes
//! what the pickle loads into. A [`Value::Effects`] keeps them: it is the value
//! [`Effects::target`] at one place in the value tree, followed by [`Effects::steps`] in the
//! order the pickle performed them. Re-encoding writes the target, then each step, so
//! CPython performs the same effects in the same order.
//!
//! Ordinary data (what `pickle.dumps` writes for lists, dicts, instances, ...) never holds
//! an `Effects`: the decoder only makes one where the pickle did something that building the
//! final object would not repeat. Accessors ([`Value::as_str`], `value["key"]`, serde's
//! [`from_value`](crate::from_value), [`Value::unanchored`]) look through it to the target,
//! so they see the object *as first built*: items added by a later [`Effect::SetItems`]
//! step are in that step, not in the target's container.

use std::sync::Arc;

use super::Value;

/// A value at one place in the tree, and what the pickle did right after writing it there.
#[derive(Clone, Debug)]
pub struct Effects {
    /// The object the steps follow (and usually act on).
    pub target: Value,
    /// What the pickle did next, in order.
    pub steps: Vec<Effect>,
}

/// One thing a pickle did after building an object (see the module documentation).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Effect {
    /// Items appended to the target: `APPEND` (one item, `marked` false) or
    /// `MARK … APPENDS` (`marked` true).
    Append {
        /// The items, in order.
        items: Vec<Value>,
        /// Written between `MARK` and `APPENDS`.
        marked: bool,
    },
    /// Entries set on the target: `SETITEM` (one pair, `marked` false) or
    /// `MARK … SETITEMS` (`marked` true).
    SetItems {
        /// The key/value pairs, in order.
        pairs: Vec<(Value, Value)>,
        /// Written between `MARK` and `SETITEMS`.
        marked: bool,
    },
    /// Items added to a set (`MARK … ADDITEMS`).
    AddItems(Vec<Value>),
    /// `BUILD` applied with this state (a second `BUILD`, or one through a memo `GET`).
    Build(Value),
    /// `state_setter(target, state)` with the result dropped: what `pickle`'s
    /// `save_reduce` writes for a 6-tuple `__reduce__` (`_function_setstate` in cloudpickle).
    SetState {
        /// The callable, usually a [`Value::Global`].
        state_setter: Value,
        /// Its second argument.
        state: Value,
    },
    /// A value built and then discarded (`POP`): a call made for its effect, such as
    /// dill's `setattr(cell, 'cell_contents', f)`.
    Discard(Value),
}

impl Effects {
    /// `target` followed by `steps`.
    pub fn new(target: Value, steps: Vec<Effect>) -> Effects {
        Effects { target, steps }
    }

    /// Every value a step holds, in the order the pickle wrote them.
    pub fn step_values(&self) -> impl Iterator<Item = &Value> {
        self.steps.iter().flat_map(Effect::values)
    }
}

impl Effect {
    /// The values this step holds, in the order the pickle wrote them.
    pub fn values(&self) -> Box<dyn Iterator<Item = &Value> + '_> {
        match self {
            Effect::Append { items, .. } | Effect::AddItems(items) => Box::new(items.iter()),
            Effect::SetItems { pairs, .. } => Box::new(pairs.iter().flat_map(|(k, v)| [k, v])),
            Effect::Build(v) | Effect::Discard(v) => Box::new(std::iter::once(v)),
            Effect::SetState {
                state_setter,
                state,
            } => Box::new([state_setter, state].into_iter()),
        }
    }

    /// Mutable access to the values this step holds, in the same order as [`Effect::values`].
    pub(crate) fn values_mut(&mut self) -> Vec<&mut Value> {
        match self {
            Effect::Append { items, .. } | Effect::AddItems(items) => items.iter_mut().collect(),
            Effect::SetItems { pairs, .. } => pairs.iter_mut().flat_map(|(k, v)| [k, v]).collect(),
            Effect::Build(v) | Effect::Discard(v) => vec![v],
            Effect::SetState {
                state_setter,
                state,
            } => vec![state_setter, state],
        }
    }

    /// How many values this step holds.
    pub(crate) fn len(&self) -> usize {
        match self {
            Effect::Append { items, .. } | Effect::AddItems(items) => items.len(),
            Effect::SetItems { pairs, .. } => 2 * pairs.len(),
            Effect::Build(_) | Effect::Discard(_) => 1,
            Effect::SetState { .. } => 2,
        }
    }
}

impl Value {
    /// `target` followed by `steps` (a [`Value::Effects`]).
    pub fn with_effects(target: Value, steps: Vec<Effect>) -> Value {
        Value::Effects(Arc::new(Effects::new(target, steps)))
    }

    /// The effects recorded at this place, if it is a [`Value::Effects`].
    pub fn effects(&self) -> Option<&Effects> {
        match self {
            Value::Effects(e) => Some(e),
            _ => None,
        }
    }
}
