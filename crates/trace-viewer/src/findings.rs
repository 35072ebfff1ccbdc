//! `GET /api/findings`: the findings of `gotrace analyze`, as data for the findings page and
//! for `gotrace analyze --json`.

use serde_json::{Value, json};
use trace_analysis::{Finding, Nanos, Quantity};

use crate::api::Loaded;

/// A finding as data: its kind, severity, subject, evidence (times in nanoseconds; moments
/// from the trace's start `origin`), time range, the timeline fragment that shows it, its text
/// and advice.
pub fn finding_json(finding: &Finding, origin: Nanos) -> Value {
    let evidence: serde_json::Map<String, Value> = finding
        .evidence
        .iter()
        .map(|(&name, &quantity)| {
            let value = match quantity {
                Quantity::Nanos(ns) => Value::from(ns),
                Quantity::Count(n) => Value::from(n),
                Quantity::Percent(p) => Value::from(p),
            };
            (name.to_owned(), value)
        })
        .collect();
    let subject = &finding.subject;
    json!({
        "kind": finding.kind.name(),
        "severity": finding.severity.name(),
        "subject": {
            "kind": subject.kind.name(),
            "name": subject.name,
            "stack": subject.stack.iter().map(|f| json!({"function": f.func, "file": f.file, "line": f.line})).collect::<Vec<_>>(),
            "goroutines": subject.goroutines,
        },
        "evidence": evidence,
        "window": finding.window.map(|(start, end)| json!({"start_ns": start - origin, "end_ns": end - origin})),
        "viewer": finding.viewer_link(origin),
        "text": finding.text,
        "advice": finding.advice,
    })
}

impl Loaded {
    /// `GET /api/findings`: every finding, problems first; computed on first use.
    pub fn findings(&self) -> Value {
        self.pages
            .findings
            .get_or_init(|| {
                let found = trace_analysis::findings(&self.ir, self.summary(), self.groups(), &self.graph().graph);
                let origin = self.timeline.start;
                json!({ "findings": found.iter().map(|f| finding_json(f, origin)).collect::<Vec<_>>() })
            })
            .clone()
    }
}
