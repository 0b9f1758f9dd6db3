//! The TLS 1.3 key schedule's HKDF (RFC 5869), built on AWS-LC's HMAC with each key
//! prepared once: rustls' generic [`HkdfUsingHmac`] over an HMAC whose keys hold the hash
//! states after their inner and outer pads.
//!
//! rustls' own aws-lc-rs HKDF redoes work a handshake does not need: every expansion from an
//! extracted secret runs the extraction again (aws-lc-rs keeps the salt and input, not the
//! result), and every expansion keys a new HMAC. With SHA-384, whose compression function
//! AWS-LC runs in portable code on AMD processors, that was about 170 blocks per handshake
//! on each side. Here an extraction runs once and a key's pads are hashed once, whatever
//! is derived from it. The outputs are the same bytes: only the work differs.

use aws_lc_rs::hmac;
use rustls::crypto::hash::HashAlgorithm;
use rustls::crypto::hmac::{Hmac, Key, Tag};
use rustls::crypto::tls13::HkdfUsingHmac;
use rustls::{CipherSuiteCommon, SupportedCipherSuite, Tls13CipherSuite};

/// HMAC with one of AWS-LC's hashes.
struct PreparedHmac(hmac::Algorithm);

impl Hmac for PreparedHmac {
    fn with_key(&self, key: &[u8]) -> Box<dyn Key> {
        Box::new(PreparedKey(hmac::Key::new(self.0, key)))
    }

    fn hash_output_len(&self) -> usize {
        self.0.digest_algorithm().output_len()
    }

    fn fips(&self) -> bool {
        aws_lc_rs::try_fips_mode().is_ok()
    }
}

/// An HMAC key whose padded hash states are computed once, when it is made.
struct PreparedKey(hmac::Key);

impl Key for PreparedKey {
    fn sign_concat(&self, first: &[u8], middle: &[&[u8]], last: &[u8]) -> Tag {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(first);
        for piece in middle {
            ctx.update(piece);
        }
        ctx.update(last);
        Tag::new(ctx.sign().as_ref())
    }

    fn tag_len(&self) -> usize {
        self.0.algorithm().digest_algorithm().output_len()
    }
}

static HMAC_SHA256: PreparedHmac = PreparedHmac(hmac::HMAC_SHA256);
static HMAC_SHA384: PreparedHmac = PreparedHmac(hmac::HMAC_SHA384);
static HKDF_SHA256: HkdfUsingHmac<'static> = HkdfUsingHmac(&HMAC_SHA256);
static HKDF_SHA384: HkdfUsingHmac<'static> = HkdfUsingHmac(&HMAC_SHA384);

/// `suite` with its key schedule's HKDF replaced by the one here (TLS 1.3 suites of SHA-256
/// and SHA-384; any other suite is returned as it is). The copy lives for the rest of the
/// process, as rustls wants: call it once per suite (the library's provider is built once).
pub fn with_prepared_hkdf(suite: SupportedCipherSuite) -> SupportedCipherSuite {
    let Some(base) = suite.tls13() else {
        return suite;
    };
    let hkdf: &'static HkdfUsingHmac<'static> = match base.common.hash_provider.algorithm() {
        HashAlgorithm::SHA256 => &HKDF_SHA256,
        HashAlgorithm::SHA384 => &HKDF_SHA384,
        _ => return suite,
    };
    let copy = Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: base.common.suite,
            hash_provider: base.common.hash_provider,
            confidentiality_limit: base.common.confidentiality_limit,
        },
        hkdf_provider: hkdf,
        aead_alg: base.aead_alg,
        quic: base.quic,
    };
    SupportedCipherSuite::Tls13(Box::leak(Box::new(copy)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::crypto::tls13::{Hkdf, OkmBlock};

    /// rustls' own aws-lc-rs suite and ours, for each TLS 1.3 suite.
    fn pairs() -> Vec<(&'static Tls13CipherSuite, &'static Tls13CipherSuite)> {
        rustls::crypto::aws_lc_rs::ALL_CIPHER_SUITES
            .iter()
            .filter_map(|s| Some((s.tls13()?, with_prepared_hkdf(*s).tls13()?)))
            .collect()
    }

    fn expand(hkdf: &dyn Hkdf, salt: &[u8], secret: &[u8], info: &[&[u8]], len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        hkdf.extract_from_secret(Some(salt), secret)
            .expand_slice(info, &mut out)
            .unwrap();
        out
    }

    #[test]
    fn the_prepared_hkdf_derives_what_rustls_own_derives() {
        let pairs = pairs();
        assert_eq!(
            pairs.len(),
            3,
            "AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305"
        );
        for (theirs, ours) in pairs {
            assert_eq!(theirs.common.suite, ours.common.suite);
            let (a, b) = (theirs.hkdf_provider, ours.hkdf_provider);
            let len = theirs.common.hash_provider.output_len();
            let secret: Vec<u8> = (0..len as u8).collect();
            let salt = [0x5a; 48];
            let info: [&[u8]; 3] = [
                b"\x00\x30",
                b"tls13 c hs traffic",
                b"\x20transcript hash...............",
            ];
            // Expansions of one block, of several, and of a partial last block.
            for out_len in [len, 12, 3 * len + 5] {
                assert_eq!(
                    expand(a, &salt[..len], &secret, &info, out_len),
                    expand(b, &salt[..len], &secret, &info, out_len)
                );
            }
            // Every derivation from one extracted secret (each expansion reuses it).
            let (ea, eb) = (a.extract_from_zero_ikm(None), b.extract_from_zero_ikm(None));
            for label in [&b"derived"[..], b"c e traffic", b"res binder"] {
                assert_eq!(
                    ea.expand_block(&[label]).as_ref(),
                    eb.expand_block(&[label]).as_ref()
                );
            }
            let okm = OkmBlock::new(&secret);
            assert_eq!(
                a.expander_for_okm(&okm).expand_block(&[b"key"]).as_ref(),
                b.expander_for_okm(&okm).expand_block(&[b"key"]).as_ref()
            );
            assert_eq!(
                a.hmac_sign(&okm, b"finished").as_ref(),
                b.hmac_sign(&okm, b"finished").as_ref()
            );
        }
    }

    #[test]
    fn the_library_provider_uses_the_prepared_hkdf() {
        let provider = super::super::credentials::base_provider();
        assert!(!provider.cipher_suites.is_empty());
        for suite in &provider.cipher_suites {
            let hkdf = suite.tls13().unwrap().hkdf_provider as *const dyn Hkdf as *const ();
            let ours = [
                &HKDF_SHA256 as *const HkdfUsingHmac<'static> as *const (),
                &HKDF_SHA384 as *const HkdfUsingHmac<'static> as *const (),
            ];
            assert!(
                ours.contains(&hkdf),
                "{:?} keeps rustls' HKDF",
                suite.suite()
            );
        }
    }
}
