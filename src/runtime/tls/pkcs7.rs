//! The portable certificate chain of PEER_CERTIFICATE_RECEIVED: a PKCS#7 ContentInfo (DER)
//! of type signedData that carries only certificates, as MsQuic's OpenSSL build writes it
//! (`PKCS7_set_type(signed)`, `PKCS7_content_new(data)`, `PKCS7_add_certificate` for each
//! certificate of the chain, `i2d_PKCS7`): version 1, no digest algorithms, an empty `data`
//! content, the certificates in chain order (leaf first), no CRLs, no signer infos.

/// id-signedData (1.2.840.113549.1.7.2).
const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
/// id-data (1.2.840.113549.1.7.1).
const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];

/// A DER element: `tag`, the definite length, `content`.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// The PKCS#7 SignedData ContentInfo holding `certificates` (each DER) in the given order.
pub fn certificates_only(certificates: &[&[u8]]) -> Vec<u8> {
    let data_info = tlv(
        0x30,
        &[tlv(0x06, DATA), tlv(0xa0, &tlv(0x04, &[]))].concat(),
    );
    let signed = tlv(
        0x30,
        &[
            tlv(0x02, &[1]),
            tlv(0x31, &[]),
            data_info,
            tlv(0xa0, &certificates.concat()),
            tlv(0x31, &[]),
        ]
        .concat(),
    );
    tlv(0x30, &[tlv(0x06, SIGNED_DATA), tlv(0xa0, &signed)].concat())
}

#[cfg(test)]
mod tests {
    use super::certificates_only;

    #[test]
    fn layout_and_long_lengths() {
        // Two fake "certificates" (any DER SEQUENCE is copied as is), one long enough for a
        // two-byte length.
        let a = [0x30, 0x01, 0x05];
        let mut b = vec![0x30, 0x82, 0x01, 0x00];
        b.extend(std::iter::repeat_n(0u8, 0x100));
        let der = certificates_only(&[&a, &b]);
        let certs_len = a.len() + b.len(); // 263
        let inner_len = 3 + 2 + 17 + (4 + certs_len) + 2;
        let signed_len = 4 + inner_len;
        let outer_len = 11 + 4 + signed_len;
        let mut want = vec![0x30, 0x82, (outer_len >> 8) as u8, outer_len as u8];
        want.extend([
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
        ]);
        want.extend([0xa0, 0x82, (signed_len >> 8) as u8, signed_len as u8]);
        want.extend([0x30, 0x82, (inner_len >> 8) as u8, inner_len as u8]);
        want.extend([0x02, 0x01, 0x01, 0x31, 0x00]);
        want.extend([
            0x30, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01, 0xa0,
            0x02, 0x04, 0x00,
        ]);
        want.extend([0xa0, 0x82, (certs_len >> 8) as u8, certs_len as u8]);
        want.extend(a);
        want.extend(&b);
        want.extend([0x31, 0x00]);
        assert_eq!(der, want);
    }
}
