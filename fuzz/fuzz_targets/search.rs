//! The search-filter and order-by grammar, fed arbitrary text for every kind of search.
//!
//! Filters come straight from users (the UI's filter box, `mlflow.search_runs`), so beyond "never
//! panics" this checks what the rest of the server relies on: errors are always a client's 400,
//! parsing is deterministic, and an accepted filter rendered back through `Display` (which the
//! parser's own docs promise is re-parsable) yields the very same AST.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mlp_core::ErrorCode;
use mlp_core::search::{
    Clause, Comparator, Entity, SearchKind, Value, parse_filter, parse_logged_model_order_field, parse_order_by,
};

const KINDS: [SearchKind; 5] = [
    SearchKind::Runs,
    SearchKind::Experiments,
    SearchKind::RegisteredModels,
    SearchKind::ModelVersions,
    SearchKind::LoggedModels,
];

fuzz_target!(|data: &[u8]| {
    // Lossy rather than skipping invalid UTF-8: the server only ever sees `String`s, and the
    // replacement character is one more non-ASCII character worth exercising.
    let text = String::from_utf8_lossy(data);
    for kind in KINDS {
        check_filter(kind, &text);
        check_order_by(kind, &text);
    }
    check_logged_model_order_field(&text);
});

fn render(clauses: &[Clause]) -> String {
    clauses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn check_filter(kind: SearchKind, text: &str) {
    let first = parse_filter(kind, text);
    assert_eq!(
        first,
        parse_filter(kind, text),
        "{kind:?}: parsing {text:?} is not deterministic"
    );
    let clauses = match first {
        Ok(clauses) => clauses,
        Err(e) => {
            // Anything else would surface as a 5xx for what is the user's typo.
            assert_eq!(e.code, ErrorCode::InvalidParameterValue, "{kind:?} {text:?}: {e}");
            assert!(!e.message.is_empty(), "{kind:?} {text:?}: empty error message");
            return;
        }
    };
    for c in &clauses {
        assert!(!c.key.is_empty(), "{kind:?} {text:?}: empty key in {c:?}");
        // The store back-ends translate (op, value) pairs without re-checking them.
        let consistent = match (c.op, &c.value) {
            (Comparator::IsNull | Comparator::IsNotNull, Value::None) => true,
            (Comparator::In | Comparator::NotIn, Value::List(items)) => !items.is_empty(),
            (_, Value::Num(n)) => n.is_finite() && !matches!(c.op, Comparator::Like | Comparator::ILike),
            (Comparator::IsNull | Comparator::IsNotNull | Comparator::In | Comparator::NotIn, _) => false,
            (_, Value::Str(_)) => true,
            _ => false,
        };
        assert!(consistent, "{kind:?} {text:?}: inconsistent clause {c:?}");
        if c.entity == Entity::Dataset {
            assert_eq!(kind, SearchKind::Runs, "{text:?}: dataset clause outside runs");
        }
    }

    let rendered = render(&clauses);
    assert_eq!(
        parse_filter(kind, &rendered).as_ref(),
        Ok(&clauses),
        "{kind:?}: {text:?} rendered as {rendered:?} does not re-parse to the same clauses"
    );
    for c in &clauses {
        let one = c.to_string();
        assert_eq!(
            parse_filter(kind, &one),
            Ok(vec![c.clone()]),
            "{kind:?}: clause {c:?} rendered alone as {one:?}"
        );
    }
    // Surrounding whitespace (a filter typed into a form) must not change the meaning.
    let padded = format!(" \t{text}\n ");
    assert_eq!(
        parse_filter(kind, &padded).as_ref(),
        Ok(&clauses),
        "{kind:?}: padded {text:?}"
    );
}

fn check_order_by(kind: SearchKind, text: &str) {
    let first = parse_order_by(kind, text);
    assert_eq!(
        first,
        parse_order_by(kind, text),
        "{kind:?}: order_by {text:?} is not deterministic"
    );
    let order = match first {
        Ok(order) => order,
        Err(e) => {
            assert_eq!(
                e.code,
                ErrorCode::InvalidParameterValue,
                "{kind:?} order_by {text:?}: {e}"
            );
            return;
        }
    };
    assert!(!order.key.is_empty(), "{kind:?} order_by {text:?}: empty key");
    let rendered = order.to_string();
    assert_eq!(
        parse_order_by(kind, &rendered).as_ref(),
        Ok(&order),
        "{kind:?}: order_by {text:?} rendered as {rendered:?}"
    );
    // Direction is the only thing the keyword changes.
    let (ident, _) = rendered.rsplit_once(' ').expect("rendered order_by has a direction");
    let flipped = format!("{ident} {}", if order.ascending { "desc" } else { "ASC" });
    let mut expected = order.clone();
    expected.ascending = !order.ascending;
    assert_eq!(parse_order_by(kind, &flipped), Ok(expected), "{kind:?}: {flipped:?}");
}

fn check_logged_model_order_field(text: &str) {
    for ascending in [true, false] {
        match parse_logged_model_order_field(text, ascending) {
            Ok(o) => {
                assert_eq!(o.ascending, ascending);
                assert!(!o.key.is_empty(), "field {text:?}: empty key");
                match o.entity {
                    // Metric keys are taken verbatim after the prefix, dots and all.
                    Entity::Metric => assert_eq!(Some(o.key.as_str()), text.strip_prefix("metrics.")),
                    Entity::Attribute => {}
                    other => panic!("field {text:?}: unexpected entity {other:?}"),
                }
            }
            Err(e) => assert_eq!(e.code, ErrorCode::InvalidParameterValue, "field {text:?}: {e}"),
        }
    }
}
