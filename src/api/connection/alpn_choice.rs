//! The ALPN of a server connection: what NEW_CONNECTION's callback chose, and MsQuic's
//! choice at ConnectionSetConfiguration.

use crate::api::abi::QUIC_NEW_CONNECTION_INFO;
use crate::runtime::tls::alpn;

/// The ALPN a server connection uses, chosen at ConnectionSetConfiguration as MsQuic does:
/// the entry of the client's list the application pointed `Info->NegotiatedAlpn` at in
/// NEW_CONNECTION, if the configuration has it; else the listener's match if it is the
/// configuration's first token; else the configuration's first token the client offered.
/// Returns `(wire token, application token)`; `None` when the configuration has none of the
/// client's tokens.
pub(crate) fn choose(
    offered: &[Vec<u8>],
    current: &[u8],
    app_choice: Option<Vec<u8>>,
    tokens: &[Vec<u8>],
) -> Option<(Vec<u8>, Vec<u8>)> {
    let first_wire_of = |token: &[u8]| {
        offered
            .iter()
            .find(|w| alpn::app_token(w, std::slice::from_ref(&token.to_vec())).is_some())
            .cloned()
    };
    // The application chose an entry of the list it was shown (tokens in application form):
    // the client's first wire form of it is negotiated.
    if let Some(choice) = app_choice {
        if let Some(app) = alpn::app_token(&choice, tokens) {
            let wire = first_wire_of(app).unwrap_or(choice);
            return Some((wire, app.to_vec()));
        }
    }
    if tokens.first().map(Vec::as_slice) == Some(current) {
        if let Some(w) = first_wire_of(current) {
            return Some((w, current.to_vec()));
        }
    }
    tokens
        .iter()
        .find_map(|t| first_wire_of(t).map(|w| (w, t.clone())))
}

/// NEW_CONNECTION's ALPN choice: while the callback runs, the `Info` it was given (the
/// application may point `NegotiatedAlpn` at another entry of `ClientAlpnList`, and may call
/// ConnectionSetConfiguration inside the callback); after it, the entry it chose.
#[derive(Default)]
pub(crate) struct AlpnChoice {
    info: std::cell::Cell<*const QUIC_NEW_CONNECTION_INFO>,
    /// The client's list as handed out (length-prefixed wire tokens), and where it was.
    list: std::cell::RefCell<Vec<u8>>,
    list_at: std::cell::Cell<usize>,
    chosen: std::cell::RefCell<Option<Vec<u8>>>,
}

impl AlpnChoice {
    /// The NEW_CONNECTION callback is about to run with `info`, which lists `list`.
    pub(crate) fn begin(&self, info: &QUIC_NEW_CONNECTION_INFO, list: &[u8]) {
        *self.list.borrow_mut() = list.to_vec();
        self.list_at.set(list.as_ptr() as usize);
        self.info.set(info);
    }

    /// The callback returned: keeps its choice.
    pub(crate) fn end(&self) {
        self.read();
        self.info.set(core::ptr::null());
    }

    /// Records where `Info->NegotiatedAlpn` points now, if the callback is running and it
    /// points into the client's list.
    fn read(&self) {
        let info = self.info.get();
        if info.is_null() {
            return;
        }
        // SAFETY: `info` is set only while the NEW_CONNECTION callback runs, and points at
        // the callback's Info, which lives on the raising function's stack for that time.
        let (ptr, len) = unsafe {
            (
                (*info).NegotiatedAlpn,
                usize::from((*info).NegotiatedAlpnLength),
            )
        };
        let list = self.list.borrow();
        let start = self.list_at.get();
        let at = ptr as usize;
        if len == 0 || at <= start || at + len > start + list.len() {
            return;
        }
        let offset = at - start;
        // It must name a whole entry: its length byte just before it.
        if usize::from(list[offset - 1]) != len || !entry_starts(&list, offset - 1) {
            return;
        }
        *self.chosen.borrow_mut() = Some(list[offset..offset + len].to_vec());
    }

    /// The wire token the application chose, if it did.
    pub(crate) fn chosen(&self) -> Option<Vec<u8>> {
        self.read();
        self.chosen.borrow().clone()
    }

    /// The client's list as separate tokens.
    pub(crate) fn offered(&self) -> Vec<Vec<u8>> {
        let list = self.list.borrow();
        let mut out = Vec::new();
        let mut i = 0;
        while i < list.len() {
            let n = usize::from(list[i]);
            if i + 1 + n > list.len() {
                break;
            }
            out.push(list[i + 1..i + 1 + n].to_vec());
            i += 1 + n;
        }
        out
    }
}

/// Whether an entry of the length-prefixed `list` starts at `at`.
fn entry_starts(list: &[u8], at: usize) -> bool {
    let mut i = 0;
    while i < at {
        i += 1 + usize::from(list[i]);
    }
    i == at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn pick(offered: &[&str], current: &str, app: Option<&str>, tokens: &[&str]) -> String {
        let got = choose(
            &v(offered),
            current.as_bytes(),
            app.map(|a| a.as_bytes().to_vec()),
            &v(tokens),
        );
        got.map(|(w, a)| {
            format!(
                "{}/{}",
                String::from_utf8_lossy(&w),
                String::from_utf8_lossy(&a)
            )
        })
        .unwrap_or_default()
    }

    #[test]
    fn application_choice_wins_when_configured() {
        let offered = ["a1qx", "a1", "b1qx", "b1"];
        assert_eq!(pick(&offered, "a1", Some("b1"), &["a1", "b1"]), "b1qx/b1");
        assert_eq!(pick(&["b1"], "a1", Some("b1"), &["a1", "b1"]), "b1/b1");
        assert_eq!(pick(&offered, "a1", Some("b1qx"), &["a1", "b1"]), "b1qx/b1");
        assert_eq!(pick(&offered, "a1", Some("a1"), &["b1"]), "b1qx/b1");
    }

    #[test]
    fn listener_match_kept_only_as_first_token() {
        let offered = ["a1qx", "a1", "b1qx", "b1"];
        assert_eq!(pick(&offered, "a1", None, &["a1", "b1"]), "a1qx/a1");
        assert_eq!(pick(&offered, "a1", None, &["b1", "a1"]), "b1qx/b1");
        assert_eq!(pick(&offered, "a1", None, &["zz"]), "");
    }
}
