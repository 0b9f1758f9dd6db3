//! ALPN on the wire (decisions.md §2): the application names tokens `X`; a client offers
//! `Xqx` then `X` for each; a server accepts either form; the application only sees `X`.

/// The suffix that marks the QMux form of an application protocol token.
pub const QMUX_SUFFIX: &[u8] = b"qx";

/// The longest ALPN token TLS can carry.
pub const MAX_TOKEN_LEN: usize = 255;

/// The wire list a client offers for the application's `tokens`: `Xqx, X` for each `X`, in
/// order. A token too long for its `qx` form to fit in 255 bytes is offered plain only.
pub fn client_wire_list(tokens: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut wire = Vec::with_capacity(tokens.len() * 2);
    for token in tokens {
        if token.len() + QMUX_SUFFIX.len() <= MAX_TOKEN_LEN {
            wire.push(qmux_form(token));
        }
        wire.push(token.clone());
    }
    wire
}

/// The wire list a server accepts for the application's `tokens`: both forms of each,
/// the `qx` form first so that it wins when a client offers both.
pub fn server_wire_list(tokens: &[Vec<u8>]) -> Vec<Vec<u8>> {
    client_wire_list(tokens)
}

/// `token` + `qx`.
pub fn qmux_form(token: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(token.len() + QMUX_SUFFIX.len());
    v.extend_from_slice(token);
    v.extend_from_slice(QMUX_SUFFIX);
    v
}

/// Maps a negotiated wire token back to the application token it stands for, among the
/// configured `tokens`: `Xqx` gives `X` when `X` is configured; a wire token that is itself
/// configured gives itself. An exact match wins, so an application that configures a token
/// ending in `qx` still gets it back unchanged.
pub fn app_token<'a>(wire: &[u8], tokens: &'a [Vec<u8>]) -> Option<&'a [u8]> {
    if let Some(t) = tokens.iter().find(|t| t.as_slice() == wire) {
        return Some(t);
    }
    let stem = wire.strip_suffix(QMUX_SUFFIX)?;
    tokens
        .iter()
        .find(|t| t.as_slice() == stem)
        .map(Vec::as_slice)
}

/// `tokens` as a TLS ALPN list: each token after its one-byte length (tokens are at most 255
/// bytes long).
pub fn encode(tokens: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tokens.iter().map(|t| t.len() + 1).sum());
    for token in tokens {
        out.push(token.len().min(MAX_TOKEN_LEN) as u8);
        out.extend_from_slice(&token[..token.len().min(MAX_TOKEN_LEN)]);
    }
    out
}

/// The client's offered wire tokens as its application configured them, for NEW_CONNECTION's
/// `ClientAlpnList`: the `qx` form of a token is shown as the token itself when the client also
/// offered the plain form or the listener is configured with it (a token the listener is
/// configured with as is stays as is); duplicates are dropped, first place kept.
pub fn app_list(offered: &[Vec<u8>], tokens: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(offered.len());
    for wire in offered {
        let known = |t: &[u8]| offered.iter().chain(tokens).any(|o| o.as_slice() == t);
        let form = match wire.strip_suffix(QMUX_SUFFIX) {
            Some(stem) if !tokens.contains(wire) && !stem.is_empty() && known(stem) => stem,
            _ => wire.as_slice(),
        };
        if !out.iter().any(|o| o.as_slice() == form) {
            out.push(form.to_vec());
        }
    }
    out
}

/// A server's choice among a client's offered wire tokens, in the client's order of
/// preference (as MsQuic's listener matches ALPN): the first offered token that is one of
/// the forms of a configured token. Returns `(wire token, application token)`.
pub fn select<'c, 't>(
    offered: &'c [Vec<u8>],
    tokens: &'t [Vec<u8>],
) -> Option<(&'c [u8], &'t [u8])> {
    offered
        .iter()
        .find_map(|w| app_token(w, tokens).map(|app| (w.as_slice(), app)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn client_offers_qx_then_plain() {
        assert_eq!(
            client_wire_list(&v(&["h3", "hq"])),
            v(&["h3qx", "h3", "hqqx", "hq"])
        );
    }

    #[test]
    fn overlong_token_is_offered_plain_only() {
        let long = vec![b'a'; 254];
        assert_eq!(client_wire_list(std::slice::from_ref(&long)), vec![long]);
    }

    #[test]
    fn app_token_strips_qx() {
        let tokens = v(&["h3", "sampleqx"]);
        assert_eq!(app_token(b"h3qx", &tokens), Some(&b"h3"[..]));
        assert_eq!(app_token(b"h3", &tokens), Some(&b"h3"[..]));
        assert_eq!(app_token(b"sampleqx", &tokens), Some(&b"sampleqx"[..]));
        assert_eq!(app_token(b"sampleqxqx", &tokens), Some(&b"sampleqx"[..]));
        assert_eq!(app_token(b"sample", &tokens), None);
        assert_eq!(app_token(b"h2", &tokens), None);
    }

    #[test]
    fn app_list_shows_configured_tokens_once() {
        // A client of this library configured with "h3" and "hq".
        assert_eq!(
            app_list(&v(&["h3qx", "h3", "hqqx", "hq"]), &v(&["hq"])),
            v(&["h3", "hq"])
        );
        // A QMux-only client offering "h3qx" to a listener for "h3".
        assert_eq!(app_list(&v(&["h3qx", "x"]), &v(&["h3"])), v(&["h3", "x"]));
        // Unknown stems and tokens configured in their qx form stay as they are.
        assert_eq!(app_list(&v(&["fooqx"]), &v(&["h3"])), v(&["fooqx"]));
        assert_eq!(
            app_list(&v(&["sampleqxqx", "sampleqx"]), &v(&["sampleqx"])),
            v(&["sampleqx"])
        );
        assert_eq!(
            app_list(&v(&["sampleqx"]), &v(&["sampleqx", "sample"])),
            v(&["sampleqx"])
        );
        assert_eq!(app_list(&v(&["qx"]), &v(&[""])), v(&["qx"]));
    }

    #[test]
    fn select_follows_client_preference() {
        let tokens = v(&["a", "b"]);
        assert_eq!(
            select(&v(&["x", "bqx", "a"]), &tokens),
            Some((&b"bqx"[..], &b"b"[..]))
        );
        assert_eq!(select(&v(&["x", "y"]), &tokens), None);
        assert_eq!(select(&[], &tokens), None);
    }
}
