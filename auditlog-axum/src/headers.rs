//! Reading the other request headers: correlation id, user agent, session.

use http::header::{COOKIE, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

/// The longest correlation id taken from a request header, in bytes; a longer one is replaced
/// by a generated id.
pub const MAX_CORRELATION_ID_LEN: usize = 128;

/// The longest user agent recorded, in characters; a longer one is cut to this length.
pub const MAX_USER_AGENT_CHARS: usize = 512;

/// The longest session id recorded verbatim, in characters; a longer one is cut to this length.
pub const MAX_SESSION_ID_CHARS: usize = 128;

/// Whether a correlation id from a request header can be recorded as it is: 1 to
/// [`MAX_CORRELATION_ID_LEN`] characters, each an ASCII letter or digit or one of `.`, `_`,
/// `:`, `-`. That covers UUIDs, ULIDs, hex trace ids and the usual `req-1234` forms, and
/// keeps spaces, quotes, control characters and escape sequences out of the log and out of
/// whatever later prints it.
pub fn is_acceptable_correlation_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CORRELATION_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// The first acceptable correlation id among `names`, in order.
pub(crate) fn correlation_id(headers: &HeaderMap, names: &[HeaderName]) -> Option<String> {
    names.iter().find_map(|name| {
        let value = headers.get(name)?.to_str().ok()?;
        if is_acceptable_correlation_id(value) {
            Some(value.to_owned())
        } else {
            tracing::debug!(
                header = %name,
                len = value.len(),
                "unacceptable correlation id in request header ignored"
            );
            None
        }
    })
}

/// The user agent, cut to [`MAX_USER_AGENT_CHARS`]; bytes that are not UTF-8 are replaced.
pub(crate) fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(USER_AGENT)
        .map(|value| truncate_chars(lossy(value), MAX_USER_AGENT_CHARS))
}

/// The value of cookie `name`, from any `Cookie` header line (HTTP/2 may split them).
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|line| line.as_bytes().split(|&b| b == b';'))
        .find_map(|pair| {
            let pair = std::str::from_utf8(pair).ok()?.trim_matches([' ', '\t']);
            let (key, value) = pair.split_once('=')?;
            if key.trim_end() != name {
                return None;
            }
            let value = value.trim_start();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            Some(value.to_owned())
        })
        .filter(|value| !value.is_empty())
}

/// The first value of header `name`, when not empty.
pub(crate) fn header(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(lossy)
        .filter(|value| !value.trim().is_empty())
}

/// The session id recorded for a session token: `sha256:` and the first 16 bytes of the
/// token's SHA-256, in hex.
///
/// A session cookie usually *is* the credential, and the log is read by more people than the
/// session store, so by default the layer records this fingerprint instead of the token (see
/// [`RequestContextConfig::session_id_verbatim`](crate::RequestContextConfig::session_id_verbatim)).
/// Whoever holds a token can compute its fingerprint to find the session's entries; the
/// fingerprint alone does not give the token back.
///
/// ```
/// let id = auditlog_axum::session_fingerprint("3f9a0c1e-session-token");
/// assert!(id.starts_with("sha256:"));
/// assert_eq!(id.len(), "sha256:".len() + 32);
/// ```
pub fn session_fingerprint(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    format!("sha256:{}", hex::encode(&digest[..16]))
}

/// A header value as text: visible ASCII as it is, other bytes replaced.
fn lossy(value: &HeaderValue) -> String {
    String::from_utf8_lossy(value.as_bytes()).into_owned()
}

/// `text` cut to at most `max` characters.
pub(crate) fn truncate_chars(mut text: String, max: usize) -> String {
    if let Some((cut, _)) = text.char_indices().nth(max) {
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    fn default_names() -> Vec<HeaderName> {
        vec![
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("x-correlation-id"),
        ]
    }

    #[test]
    fn usual_request_ids_are_accepted() {
        for id in [
            "req-7d1e",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "svc.orders:42_a",
            &"a".repeat(MAX_CORRELATION_ID_LEN),
        ] {
            assert!(is_acceptable_correlation_id(id), "{id}");
        }
    }

    #[test]
    fn hostile_or_odd_request_ids_are_refused() {
        for id in [
            "",
            "req 1",
            "req-1\n",
            "req\r\nSet-Cookie: x",
            "\u{1b}[31mred",
            "\u{9b}31m",
            "caf\u{e9}",
            "\"quoted\"",
            "a;b",
            "<script>",
            "Root=1-67891233-abcdef",
            &"a".repeat(MAX_CORRELATION_ID_LEN + 1),
        ] {
            assert!(!is_acceptable_correlation_id(id), "{id:?}");
        }
    }

    #[test]
    fn correlation_headers_are_read_in_order() {
        let both = headers(&[("x-correlation-id", b"corr-2"), ("x-request-id", b"req-1")]);
        assert_eq!(
            correlation_id(&both, &default_names()).as_deref(),
            Some("req-1")
        );

        let second = headers(&[("x-correlation-id", b"corr-2")]);
        assert_eq!(
            correlation_id(&second, &default_names()).as_deref(),
            Some("corr-2")
        );

        assert_eq!(correlation_id(&HeaderMap::new(), &default_names()), None);
    }

    #[test]
    fn refused_request_id_falls_through_to_the_next_header() {
        let map = headers(&[
            ("x-request-id", b"bad id with spaces"),
            ("x-correlation-id", b"corr-2"),
        ]);
        assert_eq!(
            correlation_id(&map, &default_names()).as_deref(),
            Some("corr-2")
        );

        let only_bad = headers(&[("x-request-id", b"\xc2\x9b31m")]);
        assert_eq!(correlation_id(&only_bad, &default_names()), None);
    }

    #[test]
    fn session_is_read_from_the_named_cookie() {
        let map = headers(&[
            ("cookie", b"theme=dark; sid=abc123; other=1"),
            ("cookie", b"late=2"),
        ]);
        assert_eq!(cookie(&map, "sid").as_deref(), Some("abc123"));
        assert_eq!(cookie(&map, "late").as_deref(), Some("2"));
        assert_eq!(cookie(&map, "missing"), None);
        assert_eq!(cookie(&map, "si"), None);
    }

    #[test]
    fn cookie_values_may_be_quoted_and_empty_ones_are_absent() {
        let map = headers(&[("cookie", b"sid=\"abc123\"; empty=")]);
        assert_eq!(cookie(&map, "sid").as_deref(), Some("abc123"));
        assert_eq!(cookie(&map, "empty"), None);
    }

    #[test]
    fn cookie_with_non_utf8_pairs_elsewhere_is_still_found() {
        let map = headers(&[("cookie", b"junk=\xff\xfe; sid=abc123")]);
        assert_eq!(cookie(&map, "sid").as_deref(), Some("abc123"));
    }

    #[test]
    fn user_agent_is_kept_as_given_but_capped() {
        let map = headers(&[("user-agent", b"curl/8.5.0")]);
        assert_eq!(user_agent(&map).as_deref(), Some("curl/8.5.0"));

        let long = "x".repeat(MAX_USER_AGENT_CHARS + 10);
        let map = headers(&[("user-agent", long.as_bytes())]);
        assert_eq!(user_agent(&map).unwrap().len(), MAX_USER_AGENT_CHARS);

        let map = headers(&[("user-agent", b"agent \xe9")]);
        assert_eq!(user_agent(&map).as_deref(), Some("agent \u{fffd}"));
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate_chars("h\u{e9}llo".to_owned(), 2), "h\u{e9}");
        assert_eq!(truncate_chars("short".to_owned(), 10), "short");
    }

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        assert_eq!(session_fingerprint("a"), session_fingerprint("a"));
        assert_ne!(session_fingerprint("a"), session_fingerprint("b"));
        // SHA-256("abc") starts with ba7816bf8f01cfea414140de5dae2223.
        assert_eq!(
            session_fingerprint("abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223"
        );
    }
}
