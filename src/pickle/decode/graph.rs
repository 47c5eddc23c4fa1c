//! The object graph a pickle builds, and its conversion into a [`Value`] tree.
//!
//! While the opcodes run, every container (list, tuple, dict, set, frozenset, object) is
//! a node in an [`Arena`], and the stack and memo hold `Value::Ref(node index)` for it.
//! Containers can therefore be changed after they are memoized or shared (APPENDS onto
//! a list that is also in the memo, a list that ends up containing itself) without any
//! copy, and no `Value` nesting exists until the end: a hostile pickle cannot make the
//! decoder (or the drop of its partial state) recurse.
//!
//! [`Arena::into_value`] then walks the graph depth-first without recursion:
//! * each node becomes one `Arc` allocation, so a node reached twice is the same
//!   allocation twice (sharing is kept);
//! * a node reached again while it is still being converted (a cycle) becomes
//!   `Value::Ref(anchor)` and the node is wrapped in `Value::Anchor(anchor, ..)`;
//! * nesting deeper than `max_depth` is refused.
//!
//! A `Ref` names the anchor of any container met *earlier* in depth-first order (enclosing
//! it or not), as pickle's own memo does, so a node on a cycle that is also reached from
//! outside that cycle is still shared: `c1 = [c2]; c2 = [c1]; [c1, c2]` keeps every
//! identity.

use std::sync::Arc;

use crate::value::{Effect, Effects, Object, Value};

/// A container under construction. Children that are containers are `Value::Ref(node)`.
pub(super) enum NodeData {
    /// `list`.
    List(Vec<Value>),
    /// `tuple`.
    Tuple(Vec<Value>),
    /// `dict`.
    Dict(Vec<(Value, Value)>),
    /// `set`.
    Set(Vec<Value>),
    /// `frozenset`.
    FrozenSet(Vec<Value>),
    /// Any other object.
    Object(Box<Object>),
    /// A value and what the pickle did after it (see `value/effects.rs`).
    Effects(Box<EffectsNode>),
}

/// An [`Effects`] under construction: the target and every step's values in one vector
/// (so a child is found by index in constant time), and the shape of each step.
pub(super) struct EffectsNode {
    /// The target, then each step's values in order.
    pub(super) values: Vec<Value>,
    /// One entry a step.
    pub(super) shape: Vec<Step>,
}

/// The kind of one step of an [`EffectsNode`] and how many values it holds.
#[derive(Clone, Copy)]
pub(super) enum Step {
    /// `Effect::Append` with this many items.
    Append { marked: bool, n: usize },
    /// `Effect::SetItems` with this many pairs.
    SetItems { marked: bool, n: usize },
    /// `Effect::AddItems` with this many items.
    AddItems(usize),
    /// `Effect::Build` (one value).
    Build,
    /// `Effect::SetState` (state setter, state).
    SetState,
    /// `Effect::Discard` (one value).
    Discard,
}

impl EffectsNode {
    /// `target` with no steps yet.
    pub(super) fn new(target: Value) -> EffectsNode {
        EffectsNode {
            values: vec![target],
            shape: Vec::new(),
        }
    }

    /// The value the steps follow.
    pub(super) fn target(&self) -> &Value {
        &self.values[0]
    }

    /// Adds a step holding `values` (as many as `step` says).
    pub(super) fn push(&mut self, step: Step, values: impl IntoIterator<Item = Value>) {
        self.values.extend(values);
        self.shape.push(step);
    }

    fn into_effects(self) -> Effects {
        let mut values = self.values.into_iter();
        let target = values.next().expect("an effects node holds its target");
        let mut take = |n: usize| -> Vec<Value> { values.by_ref().take(n).collect() };
        let mut steps = Vec::with_capacity(self.shape.len());
        for step in self.shape {
            steps.push(match step {
                Step::Append { marked, n } => Effect::Append {
                    items: take(n),
                    marked,
                },
                Step::SetItems { marked, n } => {
                    let flat = take(2 * n);
                    let mut pairs = Vec::with_capacity(n);
                    let mut it = flat.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    Effect::SetItems { pairs, marked }
                }
                Step::AddItems(n) => Effect::AddItems(take(n)),
                Step::Build => Effect::Build(take(1).pop().expect("one value")),
                Step::SetState => {
                    let mut v = take(2);
                    let state = v.pop().expect("two values");
                    let state_setter = v.pop().expect("two values");
                    Effect::SetState {
                        state_setter,
                        state,
                    }
                }
                Step::Discard => Effect::Discard(take(1).pop().expect("one value")),
            });
        }
        Effects::new(target, steps)
    }
}

impl NodeData {
    fn child_count(&self) -> usize {
        match self {
            NodeData::List(v) | NodeData::Tuple(v) | NodeData::Set(v) | NodeData::FrozenSet(v) => {
                v.len()
            }
            NodeData::Dict(v) => 2 * v.len(),
            NodeData::Object(o) => {
                1 + o.args.len()
                    + usize::from(o.kwargs.is_some())
                    + usize::from(o.state.is_some())
                    + o.list_items.len()
                    + 2 * o.dict_items.len()
            }
            NodeData::Effects(e) => e.values.len(),
        }
    }

    /// Calls `f` on every child, in order.
    pub(super) fn for_each_child(&self, mut f: impl FnMut(&Value)) {
        match self {
            NodeData::List(v) | NodeData::Tuple(v) | NodeData::Set(v) | NodeData::FrozenSet(v) => {
                v.iter().for_each(f)
            }
            NodeData::Dict(v) => v.iter().for_each(|(k, x)| {
                f(k);
                f(x)
            }),
            NodeData::Effects(e) => e.values.iter().for_each(f),
            NodeData::Object(o) => {
                f(&o.callable);
                o.args.iter().for_each(&mut f);
                o.kwargs.iter().for_each(&mut f);
                o.list_items.iter().for_each(&mut f);
                o.dict_items.iter().for_each(|(k, x)| {
                    f(k);
                    f(x)
                });
                o.state.iter().for_each(&mut f);
            }
        }
    }

    /// The `i`-th child (`i < child_count()`).
    fn child_mut(&mut self, i: usize) -> &mut Value {
        match self {
            NodeData::List(v) | NodeData::Tuple(v) | NodeData::Set(v) | NodeData::FrozenSet(v) => {
                &mut v[i]
            }
            NodeData::Dict(v) => {
                let pair = &mut v[i / 2];
                if i % 2 == 0 {
                    &mut pair.0
                } else {
                    &mut pair.1
                }
            }
            NodeData::Object(o) => {
                if i == 0 {
                    return &mut o.callable;
                }
                let mut i = i - 1;
                if i < o.args.len() {
                    return &mut o.args[i];
                }
                i -= o.args.len();
                if let Some(k) = o.kwargs.as_mut() {
                    if i == 0 {
                        return k;
                    }
                    i -= 1;
                }
                // The order CPython writes them (save_reduce): list items, dict items,
                // then the state; the encoder and `Ref` resolution use the same order.
                if i < o.list_items.len() {
                    return &mut o.list_items[i];
                }
                i -= o.list_items.len();
                if i < 2 * o.dict_items.len() {
                    let pair = &mut o.dict_items[i / 2];
                    return if i % 2 == 0 { &mut pair.0 } else { &mut pair.1 };
                }
                o.state.as_mut().expect("child index below child_count()")
            }
            NodeData::Effects(e) => &mut e.values[i],
        }
    }

    /// The first child at or after `from` that is a node: `(position, node)`.
    fn next_node(&mut self, from: usize) -> Option<(usize, u32)> {
        fn scan(v: &[Value], from: usize) -> Option<(usize, u32)> {
            let rest = v.get(from..)?;
            rest.iter().enumerate().find_map(|(i, x)| match x {
                Value::Ref(n) => Some((from + i, *n)),
                _ => None,
            })
        }
        match self {
            NodeData::List(v) | NodeData::Tuple(v) | NodeData::Set(v) | NodeData::FrozenSet(v) => {
                scan(v, from)
            }
            NodeData::Dict(v) => {
                let rest = v.get(from / 2..)?;
                for (j, (k, x)) in rest.iter().enumerate() {
                    let base = 2 * (from / 2 + j);
                    if let Value::Ref(n) = k {
                        if base >= from {
                            return Some((base, *n));
                        }
                    }
                    if let Value::Ref(n) = x {
                        return Some((base + 1, *n));
                    }
                }
                None
            }
            NodeData::Effects(e) => scan(&e.values, from),
            NodeData::Object(_) => {
                (from..self.child_count()).find_map(|i| match self.child_mut(i) {
                    Value::Ref(n) => Some((i, *n)),
                    _ => None,
                })
            }
        }
    }

    fn into_value(self) -> Value {
        match self {
            NodeData::List(v) => Value::List(Arc::new(v.into())),
            NodeData::Tuple(v) => Value::Tuple(Arc::new(v.into())),
            NodeData::Dict(v) => Value::Dict(Arc::new(v.into())),
            NodeData::Set(v) => Value::Set(Arc::new(v.into())),
            NodeData::FrozenSet(v) => Value::FrozenSet(Arc::new(v.into())),
            NodeData::Object(o) => Value::Object(Arc::new(*o)),
            // Every step merged into the target (see `merge_leading_fills`).
            NodeData::Effects(mut e) if e.shape.is_empty() => e.values.swap_remove(0),
            NodeData::Effects(e) => Value::Effects(Arc::new(e.into_effects())),
        }
    }
}

/// A `Ref` in a converted value to the anchor of the frame at `depth`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct OpenRef {
    depth: u32,
    anchor: u32,
}

/// What a converted node needs to be valid elsewhere, or to be converted again.
struct Open {
    /// Anchors (of enclosing frames) its value refers to, sorted.
    refs: Vec<OpenRef>,
}

enum Slot {
    /// Built, not yet converted.
    Pending(NodeData),
    /// Being converted by the frame at this depth.
    InProgress(u32),
    /// Converted; `Some` when the value refers to anchors around it.
    Done(Value, Option<Box<Open>>),
    /// Converted and moved into its only parent (the node was never shared).
    Moved,
}

/// All containers of one pickle.
pub(super) struct Arena {
    slots: Vec<Slot>,
    /// Nodes that may be reached more than once (GET, DUP, copied arguments).
    shared: Vec<bool>,
    /// Nodes stored in the memo.
    memoized: Vec<bool>,
}

/// Why the conversion stopped.
pub(super) enum ConvertError {
    /// Nesting deeper than the limit.
    TooDeep,
    /// A node reached twice that was not marked shared (a decoder bug, reported
    /// rather than panicking).
    Unshared,
}

struct Frame {
    node: u32,
    data: NodeData,
    next: usize,
    anchor: Option<u32>,
    refs: Vec<OpenRef>,
}

/// Rough bytes of a node besides its items, for the allocation budget: its arena slot
/// and shared flag (about 41 bytes), the `Arc` allocation it becomes (about 48), and
/// the spare room of a small item vector (a vector grown by one item holds four).
/// Measured: a pickle of a few hundred thousand tiny containers took 140 to 230 bytes a
/// node at peak, so 64 let a node-heavy pickle use twice its `max_alloc`.
pub(super) const NODE_COST: usize = 160;

impl Arena {
    pub(super) fn new() -> Arena {
        Arena {
            slots: Vec::new(),
            shared: Vec::new(),
            memoized: Vec::new(),
        }
    }

    /// Adds a node; `None` past `u32::MAX` nodes.
    pub(super) fn push(&mut self, data: NodeData) -> Option<Value> {
        let idx = u32::try_from(self.slots.len()).ok()?;
        self.slots.push(Slot::Pending(data));
        self.shared.push(false);
        self.memoized.push(false);
        Some(Value::Ref(idx))
    }

    /// Records that `v`, if a node, is now referenced from one more place.
    #[inline]
    pub(super) fn mark_shared(&mut self, v: &Value) {
        if let Value::Ref(i) = v {
            if let Some(s) = self.shared.get_mut(*i as usize) {
                *s = true;
            }
        }
    }

    /// Records that `v`, if a node, was stored in the memo.
    pub(super) fn mark_memoized(&mut self, v: &Value) {
        if let Value::Ref(i) = v {
            if let Some(m) = self.memoized.get_mut(*i as usize) {
                *m = true;
            }
        }
    }

    /// True when `v` is a node stored in the memo.
    pub(super) fn is_memoized(&self, v: &Value) -> bool {
        matches!(v, Value::Ref(i) if self.memoized.get(*i as usize) == Some(&true))
    }

    /// True when `v` is a node that may be reached from more than one place.
    pub(super) fn is_shared(&self, v: &Value) -> bool {
        matches!(v, Value::Ref(i) if self.shared.get(*i as usize) == Some(&true))
    }

    /// The node behind a stack value, if it is one still under construction (shared
    /// access).
    pub(super) fn node(&self, v: &Value) -> Option<&NodeData> {
        match v {
            Value::Ref(i) => match self.slots.get(*i as usize) {
                Some(Slot::Pending(d)) => Some(d),
                _ => None,
            },
            _ => None,
        }
    }

    /// The node `i`, if it is still under construction.
    #[inline]
    pub(super) fn get_mut(&mut self, i: u32) -> Option<&mut NodeData> {
        match self.slots.get_mut(i as usize) {
            Some(Slot::Pending(d)) => Some(d),
            _ => None,
        }
    }

    /// The node behind a stack value, if it is one still under construction.
    pub(super) fn node_mut(&mut self, v: &Value) -> Option<&mut NodeData> {
        match v {
            Value::Ref(i) => match self.slots.get_mut(*i as usize) {
                Some(Slot::Pending(d)) => Some(d),
                _ => None,
            },
            _ => None,
        }
    }

    /// Converts the graph under `root` into a `Value` tree (see the module doc). It
    /// allocates nothing beyond the nodes the decoder already charged to `max_alloc`.
    pub(super) fn into_value(
        mut self,
        root: Value,
        max_depth: usize,
    ) -> Result<Value, ConvertError> {
        let Value::Ref(root) = root else {
            return Ok(root);
        };
        let mut frames: Vec<Frame> = Vec::new();
        let mut next_anchor: u32 = 0;
        // The node to enter next, with its data when it is a copy (see module doc).
        let mut enter: Option<(u32, Option<NodeData>)> = Some((root, None));
        loop {
            if let Some((node, copy)) = enter.take() {
                if frames.len() >= max_depth {
                    return Err(ConvertError::TooDeep);
                }
                let depth = frames.len() as u32;
                let mut data = match copy {
                    Some(d) => {
                        self.slots[node as usize] = Slot::InProgress(depth);
                        d
                    }
                    None => {
                        match std::mem::replace(
                            &mut self.slots[node as usize],
                            Slot::InProgress(depth),
                        ) {
                            Slot::Pending(d) => d,
                            _ => unreachable!("entered a node that is not pending"),
                        }
                    }
                };
                if let NodeData::Effects(e) = &mut data {
                    self.merge_leading_fills(e);
                }
                frames.push(Frame {
                    node,
                    data,
                    next: 0,
                    anchor: None,
                    refs: Vec::new(),
                });
            }
            let depth = frames.len() - 1;
            let top = frames.last_mut().expect("a frame is always active here");
            if let Some((i, child)) = top.data.next_node(top.next) {
                top.next = i + 1;
                let slot = top.data.child_mut(i);
                match &self.slots[child as usize] {
                    Slot::Pending(_) => enter = Some((child, None)),
                    Slot::InProgress(d) => {
                        let d = *d as usize;
                        let anchor = if d == depth {
                            *top.anchor.get_or_insert_with(|| bump(&mut next_anchor))
                        } else {
                            *frames[d]
                                .anchor
                                .get_or_insert_with(|| bump(&mut next_anchor))
                        };
                        let top = frames.last_mut().expect("frame");
                        *top.data.child_mut(i) = Value::Ref(anchor);
                        insert_ref(
                            &mut top.refs,
                            OpenRef {
                                depth: d as u32,
                                anchor,
                            },
                        );
                    }
                    Slot::Done(value, None) => *slot = value.clone(),
                    Slot::Moved => return Err(ConvertError::Unshared),
                    Slot::Done(value, Some(open)) => {
                        // The value holds `Ref`s to anchors met earlier in depth-first
                        // order; a `Ref` may name any such anchor, so sharing it keeps
                        // Python's identity (see `Value::Ref`).
                        let value = value.clone();
                        let refs = open.refs.clone();
                        let top = frames.last_mut().expect("frame");
                        *top.data.child_mut(i) = value;
                        for r in refs {
                            insert_ref(&mut top.refs, r);
                        }
                    }
                }
                continue;
            }
            // Every child is converted: finish this node.
            let frame = frames.pop().expect("frame");
            let mut refs = frame.refs;
            refs.retain(|r| r.depth as usize != depth);
            let mut value = frame.data.into_value();
            if let Some(anchor) = frame.anchor {
                value = Value::Anchor(anchor, Box::new(value));
            }
            let open = if refs.is_empty() {
                None
            } else {
                Some(Box::new(Open { refs: refs.clone() }))
            };
            let Some(parent) = frames.last_mut() else {
                return Ok(value);
            };
            for r in refs {
                insert_ref(&mut parent.refs, r);
            }
            let slot = parent.data.child_mut(parent.next - 1);
            if open.is_none() && !self.shared[frame.node as usize] {
                *slot = value;
                self.slots[frame.node as usize] = Slot::Moved;
            } else {
                *slot = value.clone();
                self.slots[frame.node as usize] = Slot::Done(value, open);
            }
        }
    }
}

impl Arena {
    /// Moves the items and state that an effects node adds first into its target, when
    /// the target is written for the first time right here (its first place in
    /// depth-first order, which is the order the encoder writes): nothing can have seen it
    /// before they were added, so the target as first built may as well hold them. This
    /// keeps decode → encode → decode a fixpoint (the encoder writes such items right
    /// after the target, and the decoder reads that as the target's own items).
    fn merge_leading_fills(&mut self, e: &mut EffectsNode) {
        let Value::Ref(t) = e.values[0] else { return };
        let Some(Slot::Pending(target)) = self.slots.get_mut(t as usize) else {
            return;
        };
        let mut used = 0; // values moved so far (after the target)
        let mut steps = 0;
        for step in &e.shape {
            let at = 1 + used;
            let moved = match (step, &mut *target) {
                (Step::Append { n, .. }, NodeData::List(l)) => {
                    l.extend(e.values[at..at + n].iter().cloned());
                    *n
                }
                (Step::Append { n, .. }, NodeData::Object(o))
                    if o.state.is_none() && o.dict_items.is_empty() =>
                {
                    o.list_items.extend(e.values[at..at + n].iter().cloned());
                    *n
                }
                (Step::SetItems { n, .. }, NodeData::Dict(d)) => {
                    d.extend(
                        e.values[at..at + 2 * n]
                            .chunks(2)
                            .map(|p| (p[0].clone(), p[1].clone())),
                    );
                    2 * n
                }
                (Step::SetItems { n, .. }, NodeData::Object(o)) if o.state.is_none() => {
                    o.dict_items.extend(
                        e.values[at..at + 2 * n]
                            .chunks(2)
                            .map(|p| (p[0].clone(), p[1].clone())),
                    );
                    2 * n
                }
                (Step::AddItems(n), NodeData::Set(x)) => {
                    x.extend(e.values[at..at + n].iter().cloned());
                    *n
                }
                (Step::Build, NodeData::Object(o)) if o.state.is_none() => {
                    o.state = Some(e.values[at].clone());
                    1
                }
                _ => break,
            };
            used += moved;
            steps += 1;
        }
        if steps > 0 {
            e.values.drain(1..1 + used);
            e.shape.drain(..steps);
        }
    }
}

fn bump(counter: &mut u32) -> u32 {
    let v = *counter;
    *counter = counter.wrapping_add(1);
    v
}

fn insert_ref(refs: &mut Vec<OpenRef>, r: OpenRef) {
    if let Err(pos) = refs.binary_search(&r) {
        refs.insert(pos, r);
    }
}
