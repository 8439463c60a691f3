//! The one redaction of secrets in text that may reach a log line or an error message: database
//! and Redis URLs (a password in the user-info, whatever characters it holds, or in a query
//! parameter), and known secret values quoted back by a driver's error.

/// Query parameters whose values are secrets in the URLs we accept (libpq's `password`,
/// `sslpassword`, and the names other drivers and object stores use).
const SECRET_PARAMS: &[&str] = &[
    "password",
    "pass",
    "pwd",
    "sslpassword",
    "secret",
    "token",
    "access_token",
    "api_key",
    "apikey",
    "secret_access_key",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
];

const MASK: &str = "***";

/// `url` with the password of its user-info and the values of secret query parameters replaced
/// by `***`. A password may contain `/`, `@`, `?` or `#` unescaped (users paste them so): the
/// user-info is taken to end at the last `@` of the URL, which over-redacts rather than leaks
/// when a later part also holds an `@`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return redact_query(url);
    };
    let rest = match rest.rfind('@') {
        Some(at) => {
            let (userinfo, host_and_tail) = rest.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _password)) => format!("{user}:{MASK}{host_and_tail}"),
                // A user-info without ':' is a user name only, unless what precedes '@' spans a
                // path (then the '@' was inside a password-less path or query): keep it.
                None => rest.to_string(),
            }
        }
        None => rest.to_string(),
    };
    redact_query(&format!("{scheme}://{rest}"))
}

/// Masks the values of secret query parameters (`?password=…&sslmode=require`).
fn redact_query(url: &str) -> String {
    let Some((head, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_param(k) => format!("{k}={MASK}"),
            _ => pair.to_string(),
        })
        .collect();
    let mut out = format!("{head}?{}", parts.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

fn is_secret_param(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_PARAMS.contains(&key.as_str())
}

/// `text` with every occurrence of each secret replaced by `***`, and every URL in it redacted:
/// for driver errors that quote the connection string or the password back.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 3) {
        out = out.replace(s, MASK);
    }
    // URLs embedded in prose: redact each whitespace-separated word that looks like one.
    if out.contains("://") {
        out = out
            .split(' ')
            .map(|w| {
                if w.contains("://") {
                    redact_url(w)
                } else {
                    w.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_password() {
        assert_eq!(
            redact_url("postgresql://u:secret@db:5432/mlp"),
            "postgresql://u:***@db:5432/mlp"
        );
    }

    #[test]
    fn password_with_slash_at_and_question_mark() {
        for pw in ["super/secret", "p@ss", "a?b#c", "x/y@z?w"] {
            let url = format!("postgresql://u:{pw}@db:5432/mlp?sslmode=require");
            let r = redact_url(&url);
            assert!(!r.contains(pw), "{r}");
            assert!(r.starts_with("postgresql://u:***@db:5432/mlp"), "{r}");
        }
    }

    #[test]
    fn password_in_query() {
        let r = redact_url("postgresql://u@db/mlp?sslmode=require&password=hunter2&PassWord=x2");
        assert_eq!(r, "postgresql://u@db/mlp?sslmode=require&password=***&PassWord=***");
        assert_eq!(
            redact_url("host=db?password=hunter2"),
            "host=db?password=***",
            "a scheme-less string still has its query redacted"
        );
    }

    #[test]
    fn nothing_secret_is_unchanged() {
        for u in [
            "postgresql://u@db/mlp",
            "sqlite:///tmp/x.db",
            "redis://127.0.0.1:6379",
            "s3://bucket/prefix",
            "/plain/path",
        ] {
            assert_eq!(redact_url(u), u);
        }
    }

    #[test]
    fn redis_password_only() {
        assert_eq!(redact_url("redis://:pw/x@redis:6379/0"), "redis://:***@redis:6379/0");
    }

    #[test]
    fn scrub_removes_known_secrets_and_urls() {
        let msg = "error connecting to postgresql://u:top/secret@db/x: password top/secret rejected";
        let s = scrub(msg, &["top/secret"]);
        assert!(!s.contains("top/secret"), "{s}");
        assert!(!s.contains("secret@"), "{s}");
    }
}
