//! TLS 1.3 session tickets as MsQuic gives them to applications: a server sends one when
//! the application asks (ConnectionSendResumptionTicket), carrying the application's
//! resumption data, and a client hands the ticket to the application as an opaque blob
//! that a later connection is given back.
//!
//! rustls only issues tickets at the end of the handshake. A server that allows resumption
//! therefore lets rustls issue one *seed* ticket there: our [`Ticketer`] keeps what rustls
//! put in it (the session state with its pre-shared key) and answers with a one-byte ticket
//! that no client keeps. rustls drew the ticket's nonce and age offset from the provider's
//! random source just before, which [`Recorder`] notes, so that later, past the handshake,
//! the session can send its own NewSessionTicket with the same nonce (the client derives the
//! same pre-shared key) and a ticket that seals the session state together with the
//! application's data. On resumption rustls asks the ticketer to open the ticket; the
//! application's data is read from the ClientHello before that ([`Ticketer::app_data`]).
//!
//! Tickets are sealed with AES-256-GCM under a key derived from the configuration's ticket
//! key (QUIC_PARAM_CONFIGURATION_TICKET_KEYS) or a random one; the key's identifier travels
//! in the ticket, so servers sharing a key accept each other's tickets.
//!
//! On the client, rustls keeps tickets in a session store; ours ([`ClientTickets`]) only
//! takes a ticket while the session hands over one of ours, and only gives one out while
//! the session starts with a ticket the application set. The tickets live in a process-wide
//! table ([`remember`], [`recall`]) named by the blob.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::digest;
use rustls::NamedGroup;
use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};
use rustls::crypto::{GetRandomFailed, SecureRandom};
use rustls::pki_types::ServerName;
use rustls::server::{ProducesTickets, StoresServerSessions};

/// The first byte of a seed ticket (never kept by a client).
const SEED: u8 = 0xA0;
/// The first byte of a ticket carrying application data.
const SEALED: u8 = 0xA1;
/// The shortest sealed ticket: marker, key id, nonce, state length and tag.
const SEALED_MIN: usize = 1 + KEY_ID_LEN + NONCE_LEN + 2 + 16;
/// The early data (0-RTT) a server accepts, and announces in its tickets when it does.
pub const MAX_EARLY_DATA: u32 = 16 << 20;
/// A ticket key's identifier length (MsQuic's QUIC_TICKET_KEY_CONFIG.Id).
pub const KEY_ID_LEN: usize = 16;
/// Ticket lifetime announced to clients (seconds): MsQuic's OpenSSL default, two hours.
pub const LIFETIME_SECS: u32 = 7200;
/// Client tickets kept by the process (the oldest are forgotten first).
const MAX_REMEMBERED: usize = 512;

/// One ticket key: its identifier and the AEAD key derived from its material.
struct TicketKey {
    id: [u8; KEY_ID_LEN],
    aead: LessSafeKey,
}

impl TicketKey {
    fn new(id: [u8; KEY_ID_LEN], material: &[u8]) -> Self {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(b"msquic-qmux ticket key");
        ctx.update(&id);
        ctx.update(material);
        let key = ctx.finish();
        let unbound = UnboundKey::new(&AES_256_GCM, key.as_ref()).expect("32-byte key");
        Self {
            id,
            aead: LessSafeKey::new(unbound),
        }
    }
}

/// What rustls put in the seed ticket, for the tickets sent later.
#[derive(Clone)]
pub(crate) struct Seed {
    /// The encoded session state (rustls' own format, opaque here).
    state: Vec<u8>,
    nonce: Vec<u8>,
    age_add: u32,
}

impl fmt::Debug for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Seed").finish_non_exhaustive()
    }
}

thread_local! {
    /// The last random draws on this thread (lengths and bytes), while a server session is
    /// driven: rustls draws a ticket's nonce (32 bytes) and age offset (4) just before it
    /// asks the ticketer to seal the ticket.
    static DRAWS: RefCell<VecDeque<Vec<u8>>> = const { RefCell::new(VecDeque::new()) };
    /// The seed the ticketer saw during the current call into rustls.
    static SEEN: RefCell<Option<Seed>> = const { RefCell::new(None) };
    /// The ticket rustls handed to the store during the current call (client).
    static RECEIVED: RefCell<Vec<Tls13ClientSessionValue>> = const { RefCell::new(Vec::new()) };
    /// Whether the store may take a ticket now (the session hands over one of ours).
    static TAKING: RefCell<bool> = const { RefCell::new(false) };
    /// The ticket to resume with, while a client session builds its ClientHello.
    static OFFER: RefCell<Option<Tls13ClientSessionValue>> = const { RefCell::new(None) };
}

/// The provider's random source, noting the last draws on this thread (see [`DRAWS`]).
#[derive(Debug)]
pub(crate) struct Recorder(pub &'static dyn SecureRandom);

impl SecureRandom for Recorder {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        self.0.fill(buf)?;
        if buf.len() == 32 || buf.len() == 4 {
            DRAWS.with_borrow_mut(|d| {
                if d.len() == 3 {
                    d.pop_front();
                }
                d.push_back(buf.to_vec());
            });
        }
        Ok(())
    }
}

/// Notes the seed rustls is sealing (`plain`), with the nonce and age offset among this
/// thread's last draws: a 32-byte nonce, then a 4-byte age offset (then, for a stored
/// session, its 32-byte identifier).
fn note_seed(plain: &[u8]) {
    let draws: Vec<Vec<u8>> = DRAWS.with_borrow_mut(|d| d.drain(..).collect());
    let found = draws
        .windows(2)
        .rev()
        .find(|w| w[0].len() == 32 && w[1].len() == 4);
    if let Some([nonce, age]) = found {
        let seed = Seed {
            state: plain.to_vec(),
            nonce: nonce.clone(),
            age_add: u32::from_be_bytes([age[0], age[1], age[2], age[3]]),
        };
        SEEN.with_borrow_mut(|s| *s = Some(seed));
    }
}

/// The server's ticketer: seed tickets at the end of the handshake, and the tickets sent
/// later opened again on resumption.
pub(crate) struct Ticketer {
    keys: Mutex<Vec<Arc<TicketKey>>>,
    /// Opens no ticket (the application refused resumption for this connection).
    refuse: bool,
}

impl fmt::Debug for Ticketer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticketer").finish_non_exhaustive()
    }
}

impl Ticketer {
    /// A ticketer with a random key.
    pub(crate) fn new() -> Arc<Self> {
        let mut id = [0u8; KEY_ID_LEN];
        let mut material = [0u8; 32];
        let _ = aws_lc_rs::rand::fill(&mut id);
        let _ = aws_lc_rs::rand::fill(&mut material);
        Arc::new(Self {
            keys: Mutex::new(vec![Arc::new(TicketKey::new(id, &material))]),
            refuse: false,
        })
    }

    /// Uses the key `id`/`material` from now on (QUIC_PARAM_CONFIGURATION_TICKET_KEYS).
    pub(crate) fn set_key(&self, id: [u8; KEY_ID_LEN], material: &[u8]) {
        let key = Arc::new(TicketKey::new(id, material));
        *self.keys.lock().unwrap_or_else(|e| e.into_inner()) = vec![key];
    }

    /// The same keys, opening no ticket.
    pub(crate) fn refusing(&self) -> Arc<Self> {
        Arc::new(Self {
            keys: Mutex::new(self.keys.lock().unwrap_or_else(|e| e.into_inner()).clone()),
            refuse: true,
        })
    }

    fn current(&self) -> Arc<TicketKey> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())[0].clone()
    }

    fn key(&self, id: &[u8]) -> Option<Arc<TicketKey>> {
        let keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter().find(|k| k.id == id).cloned()
    }

    /// Seals `seed`'s state with `app_data` into a ticket.
    pub(crate) fn seal(&self, seed: &Seed, app_data: &[u8]) -> Option<Vec<u8>> {
        let key = self.current();
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).ok()?;
        let mut out = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + seed.state.len() + 64);
        out.push(SEALED);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        let header = out.len();
        let state_len = u16::try_from(seed.state.len()).ok()?;
        out.extend_from_slice(&state_len.to_be_bytes());
        out.extend_from_slice(&seed.state);
        out.extend_from_slice(app_data);
        let mut body = out.split_off(header);
        key.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&out[..]),
                &mut body,
            )
            .ok()?;
        out.extend_from_slice(&body);
        Some(out)
    }

    /// Opens a ticket: (session state, application data).
    fn open(&self, ticket: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let header = 1 + KEY_ID_LEN + NONCE_LEN;
        if ticket.len() < header || ticket[0] != SEALED {
            return None;
        }
        let key = self.key(&ticket[1..1 + KEY_ID_LEN])?;
        let nonce = Nonce::try_assume_unique_for_key(&ticket[1 + KEY_ID_LEN..header]).ok()?;
        let mut body = ticket[header..].to_vec();
        let plain = key
            .aead
            .open_in_place(nonce, Aad::from(&ticket[..header]), &mut body)
            .ok()?;
        let (len, rest) = plain.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return None;
        }
        Some((rest[..len].to_vec(), rest[len..].to_vec()))
    }

    /// The application data in `ticket`, if it is one of ours this ticketer opens.
    pub(crate) fn app_data(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        self.open(ticket).map(|(_, data)| data)
    }
}

impl ProducesTickets for Ticketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        LIFETIME_SECS
    }

    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        note_seed(plain);
        Some(vec![SEED])
    }

    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        if self.refuse {
            return None;
        }
        self.open(cipher).map(|(state, _)| state)
    }
}

/// The ticketer as rustls' session store, for servers that accept early data (rustls
/// accepts it only from sessions it believes stored): the session rustls stores at the end
/// of the handshake is the seed (its identifier, a ticket no client keeps, is not needed
/// again), and a session looked up is opened from the sealed ticket itself, as
/// [`Ticketer`] opens it. So nothing is kept per session, and servers sharing a ticket key
/// accept each other's tickets with their early data.
#[derive(Debug)]
pub(crate) struct SealedStore(pub(crate) Arc<Ticketer>);

impl StoresServerSessions for SealedStore {
    fn put(&self, _key: Vec<u8>, value: Vec<u8>) -> bool {
        note_seed(&value);
        true
    }

    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.decrypt(key)
    }

    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.decrypt(key)
    }

    fn can_cache(&self) -> bool {
        true
    }
}

/// Takes the seed the ticketer saw during the last call into rustls on this thread.
pub(crate) fn take_seed() -> Option<Seed> {
    DRAWS.with_borrow_mut(VecDeque::clear);
    SEEN.with_borrow_mut(Option::take)
}

/// A NewSessionTicket handshake message (type, length, body) for `ticket` under `seed`,
/// allowing `early_data` bytes of early data (0-RTT) when not 0.
pub(crate) fn new_session_ticket(seed: &Seed, ticket: &[u8], early_data: u32) -> Option<Vec<u8>> {
    let mut body = Vec::with_capacity(24 + seed.nonce.len() + ticket.len());
    body.extend_from_slice(&LIFETIME_SECS.to_be_bytes());
    body.extend_from_slice(&seed.age_add.to_be_bytes());
    body.push(u8::try_from(seed.nonce.len()).ok()?);
    body.extend_from_slice(&seed.nonce);
    body.extend_from_slice(&u16::try_from(ticket.len()).ok()?.to_be_bytes());
    body.extend_from_slice(ticket);
    if early_data == 0 {
        body.extend_from_slice(&[0, 0]);
    } else {
        // One extension: early_data (42) with max_early_data_size.
        body.extend_from_slice(&[0, 8, 0, 42, 0, 4]);
        body.extend_from_slice(&early_data.to_be_bytes());
    }
    let len = u32::try_from(body.len()).ok()?.to_be_bytes();
    let mut msg = vec![4, len[1], len[2], len[3]];
    msg.extend_from_slice(&body);
    Some(msg)
}

/// Whether a NewSessionTicket body carries one of our sealed tickets (not a seed).
pub(crate) fn is_sealed(body: &[u8]) -> bool {
    // lifetime 4, age_add 4, nonce<u8>, ticket<u16>.
    let Some(&nonce_len) = body.get(8) else {
        return false;
    };
    let at = 9 + usize::from(nonce_len);
    let Some(len) = body.get(at..at + 2) else {
        return false;
    };
    // A stored session's identifier (32 random bytes) is shorter than any sealed ticket.
    usize::from(u16::from_be_bytes([len[0], len[1]])) >= SEALED_MIN
        && body.get(at + 2) == Some(&SEALED)
}

/// The client's session store: see the module's documentation.
#[derive(Debug)]
pub(crate) struct ClientTickets;

impl ClientSessionStore for ClientTickets {
    fn set_kx_hint(&self, _: ServerName<'static>, _: NamedGroup) {}

    fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
        None
    }

    fn set_tls12_session(&self, _: ServerName<'static>, _: Tls12ClientSessionValue) {}

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        None
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {}

    fn insert_tls13_ticket(&self, _: ServerName<'static>, value: Tls13ClientSessionValue) {
        if TAKING.with_borrow(|t| *t) {
            RECEIVED.with_borrow_mut(|r| r.push(value));
        }
    }

    fn take_tls13_ticket(&self, _: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
        OFFER.with_borrow_mut(Option::take)
    }
}

/// Runs `f` (rustls taking NewSessionTickets) with the store taking them; returns what `f`
/// returned and the tickets taken.
pub(crate) fn taking<R>(f: impl FnOnce() -> R) -> (R, Vec<Tls13ClientSessionValue>) {
    TAKING.with_borrow_mut(|t| *t = true);
    let r = f();
    TAKING.with_borrow_mut(|t| *t = false);
    (r, RECEIVED.with_borrow_mut(std::mem::take))
}

/// Runs `f` (rustls building a ClientHello) with `offer` as the ticket to resume with
/// (taken from it if rustls used it).
pub(crate) fn offering<R>(offer: &mut Option<Tls13ClientSessionValue>, f: impl FnOnce() -> R) -> R {
    if offer.is_none() {
        return f();
    }
    OFFER.with_borrow_mut(|o| *o = offer.take());
    let r = f();
    *offer = OFFER.with_borrow_mut(Option::take);
    r
}

/// Copies of one ticket (rustls' values cannot be cloned; a ticket taken in several times
/// gives several): a blob resumes this many connections.
pub(crate) const COPIES: usize = 8;

type Table = (HashMap<u64, Vec<Tls13ClientSessionValue>>, VecDeque<u64>);

/// The process's client tickets, by number (the blob names one).
fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(Mutex::default)
}

/// Keeps copies of a client ticket; returns the number that names them.
pub(crate) fn remember(value: Vec<Tls13ClientSessionValue>) -> u64 {
    let mut id = [0u8; 8];
    let _ = aws_lc_rs::rand::fill(&mut id);
    let id = u64::from_be_bytes(id);
    let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
    if t.1.len() >= MAX_REMEMBERED {
        if let Some(old) = t.1.pop_front() {
            t.0.remove(&old);
        }
    }
    t.0.insert(id, value);
    t.1.push_back(id);
    id
}

/// A copy of the client ticket named `id`, if this process still has one.
pub(crate) fn recall(id: u64) -> Option<Tls13ClientSessionValue> {
    let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
    let copies = t.0.get_mut(&id)?;
    let value = copies.pop();
    if copies.is_empty() {
        t.0.remove(&id);
        t.1.retain(|i| *i != id);
    }
    value
}
