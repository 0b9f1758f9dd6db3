//! AES-GCM record sealing that streams: the record's content is encrypted piece by piece, as
//! the engine writes it, from wherever the bytes are (the stream's queued data) straight into
//! the output, through AWS-LC's EVP interface. It saves the copy of the content into the
//! record before sealing it in place; the record's length (its additional data) must be
//! known before the first byte, so the caller fills the record exactly.
//!
//! The `unsafe` here is a handful of C calls on one cipher context this type owns.

use std::ffi::c_int;
use std::ptr::{null, null_mut};

use aws_lc_sys as ffi;

use crate::proto::coding::BufMut;

/// An AES-GCM context keyed once; each record sets its nonce.
pub struct StreamingSealer {
    ctx: *mut ffi::EVP_CIPHER_CTX,
}

// SAFETY: the context is owned by this value alone and used through `&mut self` only.
unsafe impl Send for StreamingSealer {}

impl StreamingSealer {
    /// A sealer for an AES-128-GCM (16-byte) or AES-256-GCM (32-byte) key; `None` for any
    /// other key, or if AWS-LC fails.
    pub fn new(key: &[u8]) -> Option<Self> {
        let cipher = match key.len() {
            // SAFETY: returns a static cipher description.
            16 => unsafe { ffi::EVP_aes_128_gcm() },
            // SAFETY: returns a static cipher description.
            32 => unsafe { ffi::EVP_aes_256_gcm() },
            _ => return None,
        };
        // SAFETY: allocates a context, freed by `Drop` (or below on failure).
        let ctx = unsafe { ffi::EVP_CIPHER_CTX_new() };
        if ctx.is_null() {
            return None;
        }
        let this = Self { ctx };
        // SAFETY: `ctx` is a fresh context; `key` has the cipher's key length; the nonce is
        // given per record (`begin`), and GCM's default nonce length is TLS's 12 bytes.
        let ok =
            unsafe { ffi::EVP_EncryptInit_ex(this.ctx, cipher, null_mut(), key.as_ptr(), null()) };
        (ok == 1).then_some(this)
    }

    /// Starts a record: `nonce` and its additional data `aad` (the record header).
    fn begin(&mut self, nonce: &[u8; 12], aad: &[u8]) -> bool {
        let mut out_len: c_int = 0;
        // SAFETY: the context was keyed in `new`; a NULL cipher and key keep them, the nonce
        // has the context's 12 bytes. With a NULL output, the update takes `aad` as
        // additional data.
        unsafe {
            ffi::EVP_EncryptInit_ex(self.ctx, null(), null_mut(), null(), nonce.as_ptr()) == 1
                && ffi::EVP_EncryptUpdate(
                    self.ctx,
                    null_mut(),
                    &mut out_len,
                    aad.as_ptr(),
                    aad.len() as c_int,
                ) == 1
        }
    }

    /// Encrypts `input` into `out` (the same length).
    fn update(&mut self, out: &mut [u8], input: &[u8]) -> bool {
        debug_assert_eq!(out.len(), input.len());
        if input.is_empty() {
            return true;
        }
        let mut out_len: c_int = 0;
        // SAFETY: `out` has room for `input.len()` bytes, which GCM (a stream cipher mode)
        // writes exactly; the two do not overlap (distinct borrows).
        let ok = unsafe {
            ffi::EVP_EncryptUpdate(
                self.ctx,
                out.as_mut_ptr(),
                &mut out_len,
                input.as_ptr(),
                input.len() as c_int,
            )
        };
        ok == 1 && out_len as usize == input.len()
    }

    /// Ends the record, writing its tag.
    fn finish(&mut self, tag: &mut [u8; 16]) -> bool {
        let mut out_len: c_int = 0;
        // SAFETY: GCM's final step writes no bytes (the output pointer is only a formality);
        // the tag control writes 16 bytes into `tag`.
        unsafe {
            ffi::EVP_EncryptFinal_ex(self.ctx, tag.as_mut_ptr(), &mut out_len) == 1
                && ffi::EVP_CIPHER_CTX_ctrl(
                    self.ctx,
                    ffi::EVP_CTRL_GCM_GET_TAG as c_int,
                    16,
                    tag.as_mut_ptr().cast(),
                ) == 1
        }
    }

    /// Seals one record into `record`: `header` (also the additional data) first, then the
    /// `content_len` bytes `fill` writes into a [`BufMut`], encrypted as they come, then
    /// `inner_type` and the tag. Returns false if `fill` did not write exactly
    /// `content_len` bytes or AWS-LC failed (the record is then unusable).
    ///
    /// # Panics
    /// If `record` is shorter than the header, the content, the type byte and the tag.
    pub fn seal(
        &mut self,
        record: &mut [u8],
        header: &[u8; 5],
        nonce: &[u8; 12],
        content_len: usize,
        inner_type: u8,
        fill: &mut dyn FnMut(&mut SealSink<'_>),
    ) -> bool {
        let total = header.len() + content_len + 1 + 16;
        let record = &mut record[..total];
        record[..5].copy_from_slice(header);
        if !self.begin(nonce, header) {
            return false;
        }
        let (body, tail) = record[5..].split_at_mut(content_len);
        let mut sink = SealSink {
            sealer: self,
            out: body,
            pos: 0,
            failed: false,
        };
        fill(&mut sink);
        if sink.failed || sink.pos != content_len {
            return false;
        }
        let (type_byte, tag_room) = tail.split_at_mut(1);
        if !self.update(type_byte, &[inner_type]) {
            return false;
        }
        let mut tag = [0u8; 16];
        if !self.finish(&mut tag) {
            return false;
        }
        tag_room.copy_from_slice(&tag);
        true
    }
}

impl Drop for StreamingSealer {
    fn drop(&mut self) {
        // SAFETY: `ctx` came from `EVP_CIPHER_CTX_new` and is freed once, here.
        unsafe { ffi::EVP_CIPHER_CTX_free(self.ctx) };
    }
}

/// Where a record's content is written while it is sealed: bytes written are encrypted into
/// the record at once. Writing past the content length is refused (the record fails).
pub struct SealSink<'a> {
    sealer: &'a mut StreamingSealer,
    out: &'a mut [u8],
    pos: usize,
    failed: bool,
}

impl BufMut for SealSink<'_> {
    fn put_slice(&mut self, src: &[u8]) {
        if self.failed || src.len() > self.out.len() - self.pos {
            self.failed = true;
            return;
        }
        let out = &mut self.out[self.pos..self.pos + src.len()];
        if !self.sealer.update(out, src) {
            self.failed = true;
            return;
        }
        self.pos += src.len();
    }

    fn remaining_mut(&self) -> usize {
        self.out.len() - self.pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};

    #[test]
    fn streamed_records_open_with_the_ordinary_aead() {
        for (alg, len) in [(&AES_128_GCM, 16), (&AES_256_GCM, 32)] {
            let key = vec![9u8; len];
            let mut sealer = StreamingSealer::new(&key).unwrap();
            let content: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
            for round in 0..3u8 {
                let nonce = [round; 12];
                let body = (content.len() + 1 + 16) as u16;
                let header = [23, 3, 3, (body >> 8) as u8, body as u8];
                let mut record = vec![0u8; 5 + usize::from(body)];
                // Pieces of awkward sizes, as frame headers and data come.
                let ok = sealer.seal(&mut record, &header, &nonce, content.len(), 23, &mut |s| {
                    s.put_slice(&content[..3]);
                    s.put_u8(content[3]);
                    s.put_slice(&content[4..4097]);
                    s.put_slice(&content[4097..]);
                });
                assert!(ok);
                let opener = LessSafeKey::new(UnboundKey::new(alg, &key).unwrap());
                let plain = opener
                    .open_in_place(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(header),
                        &mut record[5..],
                    )
                    .unwrap();
                assert_eq!(&plain[..content.len()], &content[..]);
                assert_eq!(plain[content.len()], 23);
            }
            // Too little or too much content fails the record.
            let header = [23, 3, 3, 0, 21];
            let mut record = vec![0u8; 26];
            assert!(
                !sealer.seal(&mut record, &header, &[0; 12], 4, 23, &mut |s| {
                    s.put_slice(b"abc")
                })
            );
            assert!(
                !sealer.seal(&mut record, &header, &[0; 12], 4, 23, &mut |s| {
                    s.put_slice(b"abcde")
                })
            );
        }
        assert!(StreamingSealer::new(&[0u8; 24]).is_none());
    }
}
