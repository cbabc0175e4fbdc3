//! From syntax to a typed plan: names resolved to sources, terms and context values; every
//! call checked against its built-in's parameters and types; cycles between terms refused; and
//! the group stage kept out of conditional branches (every sample of a group must compute it).

use crate::builtins::Builtin;
use crate::syntax::{Arg, BinOp, Expr, ExprKind, Span};
use crate::value::{Type, Value};

/// Which expression of the policy file an error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The `reward` expression.
    Reward,
    /// The term with this index.
    Term(usize),
}

/// A check error: where and what.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckError {
    /// The expression.
    pub origin: Origin,
    /// The span in it.
    pub span: Span,
    /// What was wrong.
    pub message: String,
}

/// The group-stage normalisations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupOp {
    /// `group_z(x)`: (x − mean) / (std + 1e-6) over the group (unbiased std, as GRPO).
    Z,
    /// `group_center(x)`: x − mean (Dr. GRPO).
    Center,
    /// `rloo(x)`: x − the mean of the group's other samples.
    Rloo,
}

/// A checked expression node.
#[derive(Debug, Clone)]
pub enum Node {
    /// A constant.
    Const(Value),
    /// A source's value.
    Source(usize),
    /// A source's named component.
    Component(usize, String),
    /// A term's value.
    Term(usize),
    /// The sample's `task` (empty when absent).
    Task,
    /// The training step.
    Step,
    /// `-x`
    Neg(Box<Node>),
    /// `not x`
    Not(Box<Node>),
    /// Arithmetic, elementwise over lists.
    Arith(BinOp, Box<Node>, Box<Node>),
    /// A comparison.
    Cmp(BinOp, Box<Node>, Box<Node>),
    /// `a and b` (b only when a holds).
    And(Box<Node>, Box<Node>),
    /// `a or b` (b only when a does not hold).
    Or(Box<Node>, Box<Node>),
    /// `gate(c, a, b)` / `if c then a else b`: only the chosen branch runs.
    If(Box<Node>, Box<Node>, Box<Node>),
    /// `route(key, {k: e, …, default: e})`: only the chosen arm runs.
    Route(Box<Node>, Vec<(String, Node)>, Option<Box<Node>>),
    /// `gated_sum([(r1, t1), …, rN])`: r1 + 1[r1 ≥ t1]·(r2 + 1[r2 ≥ t2]·(… + rN)); a tier runs
    /// only when every tier before it passed.
    GatedSum(Vec<(Node, Node)>, Box<Node>),
    /// A strict built-in.
    Call(Builtin, &'static str, Vec<Node>),
    /// A group-stage normalisation, with its slot.
    Group(GroupOp, Box<Node>, usize),
}

/// What the checker needs to know about the policy's names.
pub struct Names<'a> {
    /// Source names and output types, in declaration order.
    pub sources: &'a [(String, Type)],
    /// Term names and expressions, in declaration order.
    pub terms: &'a [(String, Expr)],
}

/// The checked policy: the reward, every term, how many group slots.
pub struct Checked {
    /// The reward expression.
    pub reward: Node,
    /// Terms, by index.
    pub terms: Vec<Node>,
    /// Term types, by index.
    pub term_types: Vec<Type>,
    /// The normalisation of each group-stage slot (`Node::Group`'s index).
    pub group_ops: Vec<GroupOp>,
}

const BUILTIN_NAMES: &str = "clip, affine, sigmoid, log_sigmoid, exp, log, abs, min, max, mean, sum, last, first, prod, median, softmin, mean_minus_std, wco, steps_clip, steps_delta, center, lsc, par, sched, gate, route, gated_sum, group_z, group_center, rloo";

/// Checks the reward and every term.
pub fn check(names: &Names, reward: &Expr) -> Result<Checked, CheckError> {
    let mut checker = Checker {
        names,
        terms: vec![None; names.terms.len()],
        stack: Vec::new(),
        origin: Origin::Reward,
        group_ops: Vec::new(),
        term_has_group: vec![false; names.terms.len()],
    };
    for i in 0..names.terms.len() {
        checker.term(i, names.terms[i].1.span)?;
    }
    checker.origin = Origin::Reward;
    let (reward_node, ty) = checker.expr(reward)?;
    if !ty.fits(Type::Scalar) {
        return Err(CheckError {
            origin: Origin::Reward,
            span: reward.span,
            message: format!(
                "the reward must be a scalar (or bool), got {ty}; aggregate it, e.g. `min(...)`"
            ),
        });
    }
    let (terms, term_types) =
        checker.terms.into_iter().map(|t| t.expect("every term checked")).unzip();
    Ok(Checked { reward: reward_node, terms, term_types, group_ops: checker.group_ops })
}

struct Checker<'a> {
    names: &'a Names<'a>,
    terms: Vec<Option<(Node, Type)>>,
    stack: Vec<usize>,
    origin: Origin,
    group_ops: Vec<GroupOp>,
    term_has_group: Vec<bool>,
}

impl Checker<'_> {
    fn error<T>(&self, span: Span, message: impl Into<String>) -> Result<T, CheckError> {
        Err(CheckError { origin: self.origin, span, message: message.into() })
    }

    /// Checks term `i` (once), refusing cycles.
    fn term(&mut self, i: usize, used_at: Span) -> Result<Type, CheckError> {
        if let Some((_, ty)) = &self.terms[i] {
            return Ok(*ty);
        }
        if let Some(start) = self.stack.iter().position(|&t| t == i) {
            let mut cycle: Vec<&str> =
                self.stack[start..].iter().map(|&t| self.names.terms[t].0.as_str()).collect();
            cycle.push(&self.names.terms[i].0);
            return self.error(
                used_at,
                format!("terms depend on each other in a cycle: {}", cycle.join(" → ")),
            );
        }
        let outer = self.origin;
        self.stack.push(i);
        self.origin = Origin::Term(i);
        let names = self.names;
        let checked = self.expr(&names.terms[i].1);
        self.origin = outer;
        self.stack.pop();
        let (node, ty) = checked?;
        self.term_has_group[i] = self.has_group(&node);
        self.terms[i] = Some((node, ty));
        Ok(ty)
    }

    fn has_group(&self, node: &Node) -> bool {
        match node {
            Node::Group(..) => true,
            Node::Term(t) => self.term_has_group[*t],
            Node::Const(_) | Node::Source(_) | Node::Component(..) | Node::Task | Node::Step => {
                false
            }
            Node::Neg(a) | Node::Not(a) => self.has_group(a),
            Node::Arith(_, a, b) | Node::Cmp(_, a, b) | Node::And(a, b) | Node::Or(a, b) => {
                self.has_group(a) || self.has_group(b)
            }
            Node::If(c, a, b) => self.has_group(c) || self.has_group(a) || self.has_group(b),
            Node::Route(k, arms, d) => {
                self.has_group(k)
                    || arms.iter().any(|(_, a)| self.has_group(a))
                    || d.as_deref().is_some_and(|d| self.has_group(d))
            }
            Node::GatedSum(tiers, tail) => {
                tiers.iter().any(|(r, t)| self.has_group(r) || self.has_group(t))
                    || self.has_group(tail)
            }
            Node::Call(_, _, args) => args.iter().any(|a| self.has_group(a)),
        }
    }

    /// Refuses a group-stage term in a branch that not every sample takes.
    fn unconditional(&self, node: &Node, span: Span, form: &str) -> Result<(), CheckError> {
        if self.has_group(node) {
            return self.error(
                span,
                format!("a group-stage value (group_z, group_center, rloo) cannot sit in a branch of `{form}`: every sample of a group must compute it"),
            );
        }
        Ok(())
    }

    fn expr(&mut self, e: &Expr) -> Result<(Node, Type), CheckError> {
        match &e.kind {
            ExprKind::Number(n) => Ok((Node::Const(Value::Scalar(*n)), Type::Scalar)),
            ExprKind::Text(s) => Ok((Node::Const(Value::Text(s.clone())), Type::Text)),
            ExprKind::Name(name) => self.name(name, e.span),
            ExprKind::Neg(x) => {
                let (node, ty) = self.expr(x)?;
                if !ty.is_numeric() {
                    return self.error(x.span, format!("`-` needs a number, got {ty}"));
                }
                let ty = if ty == Type::Bool { Type::Scalar } else { ty };
                Ok((Node::Neg(Box::new(node)), ty))
            }
            ExprKind::Not(x) => {
                let node = self.condition(x, "not")?;
                Ok((Node::Not(Box::new(node)), Type::Bool))
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b),
            ExprKind::If(c, a, b) => self.branch(c, a, Some(b), e.span, "if"),
            ExprKind::Call(name, args) => self.call(name, args, e.span),
            ExprKind::Tuple(_) | ExprKind::List(_) | ExprKind::Map(_) => {
                self.error(e.span, "a list, pair or map is only an argument of gated_sum or route")
            }
        }
    }

    fn name(&mut self, name: &str, span: Span) -> Result<(Node, Type), CheckError> {
        let sources = self.names.sources;
        if let Some(i) = sources.iter().position(|(n, _)| n == name) {
            return Ok((Node::Source(i), sources[i].1));
        }
        if let Some(i) = self.names.terms.iter().position(|(n, _)| n == name) {
            let ty = self.term(i, span)?;
            return Ok((Node::Term(i), ty));
        }
        match name {
            "task" => return Ok((Node::Task, Type::Text)),
            "step" => return Ok((Node::Step, Type::Scalar)),
            "true" | "false" => return Ok((Node::Const(Value::Bool(name == "true")), Type::Bool)),
            _ => {}
        }
        if let Some((source, part)) = name.split_once('.')
            && let Some(i) = sources.iter().position(|(n, _)| n == source)
        {
            if part.contains('.') {
                return self.error(span, format!("`{name}`: a component name has no dots"));
            }
            return Ok((Node::Component(i, part.to_owned()), Type::Scalar));
        }
        let list =
            |names: Vec<&str>| if names.is_empty() { "none".to_owned() } else { names.join(", ") };
        self.error(
            span,
            format!(
                "unknown name `{name}`: not a source ({}), a term ({}) or a context value (task, step, true, false)",
                list(sources.iter().map(|(n, _)| n.as_str()).collect()),
                list(self.names.terms.iter().map(|(n, _)| n.as_str()).collect()),
            ),
        )
    }

    fn condition(&mut self, e: &Expr, form: &str) -> Result<Node, CheckError> {
        let (node, ty) = self.expr(e)?;
        if ty != Type::Bool {
            return self.error(
                e.span,
                format!(
                    "the condition of `{form}` must be a bool, got {ty} (compare it, e.g. `x >= 1`)"
                ),
            );
        }
        Ok(node)
    }

    fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr) -> Result<(Node, Type), CheckError> {
        if matches!(op, BinOp::And | BinOp::Or) {
            let left = self.condition(a, op.symbol())?;
            let right = self.condition(b, op.symbol())?;
            self.unconditional(&right, b.span, op.symbol())?;
            let (l, r) = (Box::new(left), Box::new(right));
            return Ok((
                if op == BinOp::And { Node::And(l, r) } else { Node::Or(l, r) },
                Type::Bool,
            ));
        }
        let (left, lt) = self.expr(a)?;
        let (right, rt) = self.expr(b)?;
        let symbol = op.symbol();
        if matches!(op, BinOp::Eq | BinOp::Ne) && lt == Type::Text && rt == Type::Text {
            return Ok((Node::Cmp(op, Box::new(left), Box::new(right)), Type::Bool));
        }
        if matches!(op, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne) {
            for (ty, side) in [(lt, a), (rt, b)] {
                if !ty.fits(Type::Scalar) {
                    return self.error(side.span, format!("`{symbol}` compares scalars, got {ty} (aggregate it first, e.g. `min(...)`)"));
                }
            }
            return Ok((Node::Cmp(op, Box::new(left), Box::new(right)), Type::Bool));
        }
        for (ty, side) in [(lt, a), (rt, b)] {
            if !ty.is_numeric() {
                return self.error(side.span, format!("`{symbol}` needs numbers, got {ty}"));
            }
        }
        let ty = match (lt.is_list(), rt.is_list()) {
            (false, false) => Type::Scalar,
            (true, false) => lt,
            (false, true) => rt,
            (true, true) if lt == rt => lt,
            (true, true) => return self.error(b.span, format!("`{symbol}` between {lt} and {rt}")),
        };
        Ok((Node::Arith(op, Box::new(left), Box::new(right)), ty))
    }

    /// `if`/`gate`: a bool condition and two branches of one type.
    fn branch(
        &mut self,
        c: &Expr,
        a: &Expr,
        b: Option<&Expr>,
        span: Span,
        form: &str,
    ) -> Result<(Node, Type), CheckError> {
        let cond = self.condition(c, form)?;
        let (then, tt) = self.expr(a)?;
        let (otherwise, et) = match b {
            Some(b) => self.expr(b)?,
            None => (Node::Const(Value::Scalar(0.0)), Type::Scalar),
        };
        self.unconditional(&then, a.span, form)?;
        self.unconditional(&otherwise, b.map_or(span, |b| b.span), form)?;
        let ty = self.unify(tt, et, b.map_or(span, |b| b.span), form)?;
        Ok((Node::If(Box::new(cond), Box::new(then), Box::new(otherwise)), ty))
    }

    fn unify(&self, a: Type, b: Type, span: Span, form: &str) -> Result<Type, CheckError> {
        if a == b {
            Ok(a)
        } else if a.fits(Type::Scalar) && b.fits(Type::Scalar) {
            Ok(Type::Scalar)
        } else {
            self.error(span, format!("the branches of `{form}` have different types: {a} and {b}"))
        }
    }

    fn call(&mut self, name: &str, args: &[Arg], span: Span) -> Result<(Node, Type), CheckError> {
        match name {
            "gate" => {
                self.no_keywords(args, name)?;
                if !(2..=3).contains(&args.len()) {
                    return self
                        .error(span, "`gate(condition, then, else = 0)` takes 2 or 3 arguments");
                }
                self.branch(
                    &args[0].value,
                    &args[1].value,
                    args.get(2).map(|a| &a.value),
                    span,
                    "gate",
                )
            }
            "route" => self.route(args, span),
            "gated_sum" => self.gated_sum(args, span),
            "group_z" | "group_center" | "rloo" => {
                self.no_keywords(args, name)?;
                if args.len() != 1 {
                    return self.error(span, format!("`{name}(x)` takes one argument"));
                }
                let (inner, ty) = self.expr(&args[0].value)?;
                if !ty.fits(Type::Scalar) {
                    return self.error(
                        args[0].value.span,
                        format!("`{name}` normalises a scalar, got {ty}"),
                    );
                }
                let op = match name {
                    "group_z" => GroupOp::Z,
                    "group_center" => GroupOp::Center,
                    _ => GroupOp::Rloo,
                };
                self.group_ops.push(op);
                Ok((Node::Group(op, Box::new(inner), self.group_ops.len() - 1), Type::Scalar))
            }
            _ => {
                let Some(builtin) = Builtin::from_name(name) else {
                    return self.error(
                        span,
                        format!("unknown function `{name}` (built-ins: {BUILTIN_NAMES})"),
                    );
                };
                let bound = self.bind(builtin, name, args, span)?;
                let mut nodes = Vec::with_capacity(bound.len());
                let mut types = Vec::with_capacity(bound.len());
                for (node, ty) in bound {
                    nodes.push(node);
                    types.push(ty);
                }
                let ty = builtin.result(name, &types).or_else(|m| self.error(span, m))?;
                let name: &'static str =
                    BUILTIN_NAMES.split(", ").find(|n| *n == name).unwrap_or("builtin");
                Ok((Node::Call(builtin, name, nodes), ty))
            }
        }
    }

    fn no_keywords(&self, args: &[Arg], name: &str) -> Result<(), CheckError> {
        match args.iter().find(|a| a.name.is_some()) {
            Some(a) => self.error(a.value.span, format!("`{name}` takes no keyword arguments")),
            None => Ok(()),
        }
    }

    /// Matches arguments to parameters (positional, then by keyword, then defaults).
    fn bind(
        &mut self,
        builtin: Builtin,
        name: &str,
        args: &[Arg],
        span: Span,
    ) -> Result<Vec<(Node, Type)>, CheckError> {
        let Some(params) = builtin.params() else {
            self.no_keywords(args, name)?;
            if args.is_empty() {
                return self.error(span, format!("`{name}` needs a list or at least one scalar"));
            }
            return args.iter().map(|a| self.expr(&a.value)).collect();
        };
        let mut slots: Vec<Option<&Expr>> = vec![None; params.len()];
        let mut positional = 0;
        for arg in args {
            let index = match &arg.name {
                None => {
                    if positional >= params.len() || slots[positional].is_some() {
                        return self.error(
                            arg.value.span,
                            format!("`{name}` takes {} argument(s)", params.len()),
                        );
                    }
                    positional += 1;
                    positional - 1
                }
                Some(key) => match params.iter().position(|(p, _)| p == key) {
                    Some(i) if slots[i].is_none() => i,
                    Some(_) => {
                        return self
                            .error(arg.value.span, format!("`{name}`: `{key}` given twice"));
                    }
                    None => {
                        let known: Vec<&str> = params.iter().map(|(p, _)| *p).collect();
                        return self.error(
                            arg.value.span,
                            format!(
                                "`{name}` has no parameter `{key}` (it has: {})",
                                known.join(", ")
                            ),
                        );
                    }
                },
            };
            slots[index] = Some(&arg.value);
        }
        params
            .iter()
            .zip(slots)
            .map(|((param, default), slot)| match (slot, default) {
                (Some(e), _) => self.expr(e),
                (None, Some(v)) => Ok((Node::Const(v.clone()), v.ty())),
                (None, None) => self.error(span, format!("`{name}` is missing `{param}`")),
            })
            .collect()
    }

    fn route(&mut self, args: &[Arg], span: Span) -> Result<(Node, Type), CheckError> {
        self.no_keywords(args, "route")?;
        let usage = "`route(key, {name: expr, …, default: expr})`";
        let [key, arms] = args else {
            return self.error(span, format!("{usage} takes 2 arguments"));
        };
        let (key_node, key_ty) = self.expr(&key.value)?;
        if key_ty != Type::Text {
            return self.error(
                key.value.span,
                format!("the key of `route` must be text (such as `task`), got {key_ty}"),
            );
        }
        let ExprKind::Map(entries) = &arms.value.kind else {
            return self.error(arms.value.span, format!("{usage}: the second argument is a map"));
        };
        let mut out = Vec::new();
        let mut default = None;
        let mut ty: Option<Type> = None;
        for (name, e) in entries {
            let (node, t) = self.expr(e)?;
            self.unconditional(&node, e.span, "route")?;
            ty = Some(match ty {
                None => t,
                Some(prev) => self.unify(prev, t, e.span, "route")?,
            });
            if name == "default" {
                default = Some(Box::new(node));
            } else if out.iter().any(|(n, _)| n == name) {
                return self.error(e.span, format!("`route` has two arms named {name:?}"));
            } else {
                out.push((name.clone(), node));
            }
        }
        let Some(ty) = ty else {
            return self.error(arms.value.span, "`route` needs at least one arm");
        };
        Ok((Node::Route(Box::new(key_node), out, default), ty))
    }

    fn gated_sum(&mut self, args: &[Arg], span: Span) -> Result<(Node, Type), CheckError> {
        self.no_keywords(args, "gated_sum")?;
        let usage = "`gated_sum([(reward, threshold), …, last_reward])`";
        let [list] = args else { return self.error(span, format!("{usage} takes one list")) };
        let ExprKind::List(items) = &list.value.kind else {
            return self.error(list.value.span, usage);
        };
        let Some((last, tiers)) = items.split_last() else {
            return self.error(list.value.span, usage);
        };
        let mut out = Vec::new();
        for (i, item) in tiers.iter().enumerate() {
            let ExprKind::Tuple(pair) = &item.kind else {
                return self.error(
                    item.span,
                    format!("{usage}: every tier but the last is a (reward, threshold) pair"),
                );
            };
            let [r, t] = pair.as_slice() else { return self.error(item.span, "a tier is a pair") };
            let (rn, rt) = self.expr(r)?;
            let (tn, tt) = self.expr(t)?;
            for (ty, e) in [(rt, r), (tt, t)] {
                if !ty.fits(Type::Scalar) {
                    return self.error(e.span, format!("`gated_sum` tiers are scalars, got {ty}"));
                }
            }
            if i > 0 {
                self.unconditional(&rn, r.span, "gated_sum")?;
            }
            out.push((rn, tn));
        }
        let (tail, tail_ty) = self.expr(last)?;
        if !tail_ty.fits(Type::Scalar) {
            return self.error(last.span, format!("`gated_sum` tiers are scalars, got {tail_ty}"));
        }
        self.unconditional(&tail, last.span, "gated_sum")?;
        Ok((Node::GatedSum(out, Box::new(tail)), Type::Scalar))
    }
}
