//! The pure built-in functions: their parameters, their types and their arithmetic. The lazy
//! forms (`gate`, `if`, `route`, `gated_sum`) and the group stage live in the evaluator; these
//! are strict and per sample.
//!
//! Formulas follow the papers named in `POLICY.md`: PURE's softmin, Gao et al.'s step Clip and
//! Delta, Wang et al.'s LSC (`log σ(r − ref)`), Fu et al.'s PAR (`mean σ(r − ref_m)`), Coste et
//! al.'s mean − λ·std ensembles.

use crate::value::{Type, Value};

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// `clip(x, lo, hi)`, elementwise.
    Clip,
    /// `affine(x, a, b)` = `a·x + b`, elementwise.
    Affine,
    /// `sigmoid(x)`, elementwise.
    Sigmoid,
    /// `log_sigmoid(x)` = `log σ(x)`, elementwise, stable for large |x|.
    LogSigmoid,
    /// `exp(x)`, elementwise.
    Exp,
    /// `log(x)`, elementwise.
    Log,
    /// `abs(x)`, elementwise.
    Abs,
    /// `min(list)` or `min(a, b, …)`.
    Min,
    /// `max(list)` or `max(a, b, …)`.
    Max,
    /// `mean(list)`.
    Mean,
    /// `sum(list)`.
    Sum,
    /// `last(list)`.
    Last,
    /// `first(list)`.
    First,
    /// `prod(list)`.
    Prod,
    /// `median(list)`.
    Median,
    /// `softmin(list, T = 0.1)` = Σ softmax(−x/T)·x (PURE): the minimum as T → 0.
    Softmin,
    /// `mean_minus_std(list, lam = 1)` = mean − λ·std (population std).
    MeanMinusStd,
    /// `steps_clip(steps, eta)` = min(s − η, 0) per step (Gao et al. Clip).
    StepsClip,
    /// `steps_delta(steps, drop_last = true)`: s_k − s_{k+1}, the last step kept or dropped
    /// (Gao et al. Delta; the kept form telescopes to the first step's score).
    StepsDelta,
    /// `center(r, ref)` = r − ref.
    Center,
    /// `lsc(r, ref)` = log σ(r − ref) (Wang et al.): a sum of these is a logical AND.
    Lsc,
    /// `par(r, refs)` = mean over refs of σ(r − ref_m) (Fu et al.), in (0, 1).
    Par,
    /// `sched(step, start, end, over)`: `start` at step 0 moving linearly to `end` at step
    /// `over`, then held (ToolRL's dynamic scaling, curricula).
    Sched,
}

/// A parameter: its name and default (none: required).
pub type Param = (&'static str, Option<Value>);

const fn required(name: &'static str) -> Param {
    (name, None)
}

impl Builtin {
    /// Looks a built-in up by name.
    pub fn from_name(name: &str) -> Option<Builtin> {
        use Builtin::*;
        Some(match name {
            "clip" => Clip,
            "affine" => Affine,
            "sigmoid" => Sigmoid,
            "log_sigmoid" => LogSigmoid,
            "exp" => Exp,
            "log" => Log,
            "abs" => Abs,
            "min" | "wco" => Min,
            "max" => Max,
            "mean" => Mean,
            "sum" => Sum,
            "last" => Last,
            "first" => First,
            "prod" => Prod,
            "median" => Median,
            "softmin" => Softmin,
            "mean_minus_std" => MeanMinusStd,
            "steps_clip" => StepsClip,
            "steps_delta" => StepsDelta,
            "center" => Center,
            "lsc" => Lsc,
            "par" => Par,
            "sched" => Sched,
            _ => return None,
        })
    }

    /// Its parameters in order; `None` for the variadic `min`/`max`.
    pub fn params(self) -> Option<Vec<Param>> {
        use Builtin::*;
        Some(match self {
            Clip => vec![required("x"), required("lo"), required("hi")],
            Affine => vec![required("x"), required("a"), required("b")],
            Sigmoid | LogSigmoid | Exp | Log | Abs => vec![required("x")],
            Min | Max => return None,
            Mean | Sum | Last | First | Prod | Median => vec![required("x")],
            Softmin => vec![required("x"), ("T", Some(Value::Scalar(0.1)))],
            MeanMinusStd => vec![required("x"), ("lam", Some(Value::Scalar(1.0)))],
            StepsClip => vec![required("steps"), required("eta")],
            StepsDelta => vec![required("steps"), ("drop_last", Some(Value::Bool(true)))],
            Center | Lsc => vec![required("r"), required("ref")],
            Par => vec![required("r"), required("refs")],
            Sched => vec![required("step"), required("start"), required("end"), required("over")],
        })
    }

    /// The result type for these argument types, or what is wrong with them.
    pub fn result(self, name: &str, args: &[Type]) -> Result<Type, String> {
        use Builtin::*;
        let want = |i: usize, ok: bool, what: &str| -> Result<(), String> {
            if ok {
                Ok(())
            } else {
                Err(format!("`{name}` argument {} must be {what}, got {}", i + 1, args[i]))
            }
        };
        let scalars_from = |from: usize| -> Result<(), String> {
            (from..args.len()).try_for_each(|i| want(i, args[i].fits(Type::Scalar), "a scalar"))
        };
        match self {
            Clip | Affine | Sigmoid | LogSigmoid | Exp | Log | Abs => {
                want(0, args[0].is_numeric(), "a number, steps or an ensemble")?;
                scalars_from(1)?;
                Ok(if args[0].is_list() { args[0] } else { Type::Scalar })
            }
            Min | Max if args.len() == 1 => {
                want(0, args[0].is_list(), "steps or an ensemble (or give several scalars)")?;
                Ok(Type::Scalar)
            }
            Min | Max => {
                scalars_from(0)?;
                Ok(Type::Scalar)
            }
            Mean | Sum | Last | First | Prod | Median | Softmin | MeanMinusStd => {
                want(0, args[0].is_list(), "steps or an ensemble")?;
                scalars_from(1)?;
                Ok(Type::Scalar)
            }
            StepsClip => {
                want(0, args[0] == Type::Steps, "steps")?;
                scalars_from(1)?;
                Ok(Type::Steps)
            }
            StepsDelta => {
                want(0, args[0] == Type::Steps, "steps")?;
                want(1, args[1] == Type::Bool, "true or false")?;
                Ok(Type::Steps)
            }
            Center | Lsc => {
                scalars_from(0)?;
                Ok(Type::Scalar)
            }
            Par => {
                want(0, args[0].fits(Type::Scalar), "a scalar")?;
                want(
                    1,
                    args[1].fits(Type::Scalar) || args[1] == Type::Ensemble,
                    "a scalar or an ensemble",
                )?;
                Ok(Type::Scalar)
            }
            Sched => {
                scalars_from(0)?;
                Ok(Type::Scalar)
            }
        }
    }

    /// Applies the function to type-checked arguments. An error is about this sample's data
    /// (an empty step list, say) and names the function.
    pub fn apply(self, name: &str, args: &[Value]) -> Result<Value, String> {
        use Builtin::*;
        let map = |f: &dyn Fn(f64) -> f64| -> Value {
            match &args[0] {
                v @ (Value::Steps(_) | Value::Ensemble(_)) => {
                    v.with_list(v.list().iter().map(|&x| f(x)).collect())
                }
                v => Value::Scalar(f(v.scalar())),
            }
        };
        let list = || -> Result<&[f64], String> {
            let xs = args[0].list();
            if xs.is_empty() {
                Err(format!("`{name}` of an empty {}", args[0].ty()))
            } else {
                Ok(xs)
            }
        };
        let s = |i: usize| args[i].scalar();
        Ok(match self {
            Clip => {
                let (lo, hi) = (s(1), s(2));
                if lo > hi {
                    return Err(format!("`clip` bounds are reversed: {lo} > {hi}"));
                }
                map(&|x| x.clamp(lo, hi))
            }
            Affine => {
                let (a, b) = (s(1), s(2));
                map(&|x| a * x + b)
            }
            Sigmoid => map(&sigmoid),
            LogSigmoid => map(&log_sigmoid),
            Exp => map(&f64::exp),
            Log => map(&f64::ln),
            Abs => map(&f64::abs),
            Min | Max if args.len() == 1 => {
                let xs = list()?;
                let pick = if self == Min { f64::min } else { f64::max };
                Value::Scalar(xs.iter().copied().fold(xs[0], pick))
            }
            Min | Max => {
                let pick = if self == Min { f64::min } else { f64::max };
                Value::Scalar(args.iter().map(Value::scalar).fold(s(0), pick))
            }
            Mean => Value::Scalar(mean(list()?)),
            Sum => Value::Scalar(args[0].list().iter().sum()),
            Last => Value::Scalar(*list()?.last().expect("non-empty")),
            First => Value::Scalar(list()?[0]),
            Prod => Value::Scalar(args[0].list().iter().product()),
            Median => {
                let mut xs = list()?.to_vec();
                xs.sort_by(f64::total_cmp);
                let n = xs.len();
                Value::Scalar(if n % 2 == 1 {
                    xs[n / 2]
                } else {
                    (xs[n / 2 - 1] + xs[n / 2]) / 2.0
                })
            }
            Softmin => {
                let (xs, t) = (list()?, s(1));
                if t <= 0.0 {
                    return Err(format!("`softmin` temperature must be positive, got {t}"));
                }
                // Shifted by the minimum so the exponentials cannot overflow.
                let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
                let weights: Vec<f64> = xs.iter().map(|&x| (-(x - lo) / t).exp()).collect();
                let total: f64 = weights.iter().sum();
                Value::Scalar(xs.iter().zip(&weights).map(|(x, w)| x * w).sum::<f64>() / total)
            }
            MeanMinusStd => {
                let xs = list()?;
                Value::Scalar(mean(xs) - s(1) * population_std(xs))
            }
            StepsClip => {
                let eta = s(1);
                map(&|x| (x - eta).min(0.0))
            }
            StepsDelta => {
                let xs = args[0].list();
                let mut out: Vec<f64> = xs.windows(2).map(|w| w[0] - w[1]).collect();
                if !args[1].truth() {
                    out.extend(xs.last());
                }
                Value::Steps(out)
            }
            Center => Value::Scalar(s(0) - s(1)),
            Lsc => Value::Scalar(log_sigmoid(s(0) - s(1))),
            Par => {
                let r = s(0);
                let refs: Vec<f64> = match &args[1] {
                    Value::Ensemble(xs) => xs.clone(),
                    v => vec![v.scalar()],
                };
                if refs.is_empty() {
                    return Err("`par` with no reference scores".into());
                }
                Value::Scalar(mean(&refs.iter().map(|m| sigmoid(r - m)).collect::<Vec<_>>()))
            }
            Sched => {
                let (step, start, end, over) = (s(0), s(1), s(2), s(3));
                if over <= 0.0 {
                    return Err(format!("`sched` needs `over` > 0, got {over}"));
                }
                Value::Scalar(start + (end - start) * (step / over).clamp(0.0, 1.0))
            }
        })
    }
}

/// σ(x).
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 { 1.0 / (1.0 + (-x).exp()) } else { x.exp() / (1.0 + x.exp()) }
}

/// log σ(x), without overflow: −log(1 + e^(−x)).
pub fn log_sigmoid(x: f64) -> f64 {
    if x >= 0.0 { -(-x).exp().ln_1p() } else { x - x.exp().ln_1p() }
}

/// The arithmetic mean of a non-empty list.
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The population standard deviation of a non-empty list.
pub fn population_std(xs: &[f64]) -> f64 {
    let m = mean(xs);
    (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn call(name: &str, args: Vec<Value>) -> Value {
        Builtin::from_name(name).unwrap().apply(name, &args).unwrap()
    }

    #[test]
    fn hand_computed_values() {
        let steps = Value::Steps(vec![0.9, 0.2, 0.7]);
        assert_eq!(call("min", vec![steps.clone()]), Value::Scalar(0.2));
        assert_eq!(call("last", vec![steps.clone()]), Value::Scalar(0.7));
        assert!((call("prod", vec![steps.clone()]).scalar() - 0.126).abs() < 1e-12);
        assert_eq!(
            call("median", vec![Value::Ensemble(vec![3.0, 1.0, 2.0, 10.0])]),
            Value::Scalar(2.5)
        );
        assert_eq!(
            call(
                "sched",
                vec![
                    Value::Scalar(75.0),
                    Value::Scalar(2.0),
                    Value::Scalar(1.0),
                    Value::Scalar(150.0)
                ]
            ),
            Value::Scalar(1.5)
        );
        assert_eq!(
            call(
                "sched",
                vec![
                    Value::Scalar(900.0),
                    Value::Scalar(2.0),
                    Value::Scalar(1.0),
                    Value::Scalar(150.0)
                ]
            ),
            Value::Scalar(1.0)
        );
        assert_eq!(
            call("lsc", vec![Value::Scalar(1.0), Value::Scalar(1.0)]),
            Value::Scalar(-std::f64::consts::LN_2)
        );
        assert_eq!(
            call("par", vec![Value::Scalar(0.0), Value::Ensemble(vec![0.0, 0.0])]),
            Value::Scalar(0.5)
        );
        let sd = call("mean_minus_std", vec![Value::Ensemble(vec![1.0, 3.0]), Value::Scalar(2.0)]);
        assert_eq!(sd, Value::Scalar(0.0));
        assert_eq!(
            call("steps_clip", vec![steps.clone(), Value::Scalar(0.5)]).list(),
            &[0.0, -0.3, 0.0][..]
        );
        let delta = call("steps_delta", vec![steps.clone(), Value::Bool(false)]);
        assert!((delta.list()[0] - 0.7).abs() < 1e-12 && delta.list().len() == 3);
        assert!(
            Builtin::Mean
                .apply("mean", &[Value::Steps(vec![])])
                .unwrap_err()
                .contains("empty steps")
        );
    }

    proptest! {
        #[test]
        fn step_transforms_keep_their_bounds(xs in prop::collection::vec(0.0f64..1.0, 1..20), eta in 0.0f64..1.0, t in 0.01f64..5.0) {
            let steps = Value::Steps(xs.clone());
            // Clip: every step reward is at most 0.
            prop_assert!(call("steps_clip", vec![steps.clone(), Value::Scalar(eta)]).list().iter().all(|&x| x <= 0.0));
            // Delta with the last step kept telescopes to the first step's score.
            let kept: f64 = call("steps_delta", vec![steps.clone(), Value::Bool(false)]).list().iter().sum();
            prop_assert!((kept - xs[0]).abs() < 1e-9);
            // softmin lies between min and mean.
            let soft = call("softmin", vec![steps.clone(), Value::Scalar(t)]).scalar();
            let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
            prop_assert!(soft >= lo - 1e-12 && soft <= mean(&xs) + 1e-12);
        }

        #[test]
        fn reference_relative_rewards_are_bounded(r in -50.0f64..50.0, refs in prop::collection::vec(-50.0f64..50.0, 1..8)) {
            let par = call("par", vec![Value::Scalar(r), Value::Ensemble(refs.clone())]).scalar();
            prop_assert!((0.0..=1.0).contains(&par));
            let lsc = call("lsc", vec![Value::Scalar(r), Value::Scalar(refs[0])]).scalar();
            prop_assert!(lsc <= 0.0 && lsc.is_finite());
        }
    }
}
