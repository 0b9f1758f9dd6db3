//! The parameter ids MsQuic 2.7 defines (public ones), by prefix, so that a known id we do not
//! implement yet answers NOT_SUPPORTED while an unknown one answers INVALID_PARAMETER.

/// Prefix of registration parameters.
pub(crate) const PREFIX_REGISTRATION: u32 = 0x0200_0000;
/// Prefix of configuration parameters.
pub(crate) const PREFIX_CONFIGURATION: u32 = 0x0300_0000;
/// Prefix of listener parameters.
pub(crate) const PREFIX_LISTENER: u32 = 0x0400_0000;
/// Prefix of connection parameters.
pub(crate) const PREFIX_CONNECTION: u32 = 0x0500_0000;
/// Prefix of TLS parameters.
pub(crate) const PREFIX_TLS: u32 = 0x0600_0000;
/// Prefix of stream parameters.
pub(crate) const PREFIX_STREAM: u32 = 0x0800_0000;
/// Bits 24..=29 hold the prefix; bit 31 marks MsQuic's private (test-only) ids.
const PREFIX_MASK: u32 = 0xBF00_0000;

/// The prefix of `param` (the private bit included, so private ids match no public prefix).
pub(crate) fn prefix(param: u32) -> u32 {
    param & PREFIX_MASK
}

/// Is `param` a library-wide id MsQuic defines?
pub(crate) fn is_global(param: u32) -> bool {
    (0x0100_0000..=0x0100_000E).contains(&param)
}

/// Is `param` an id MsQuic (or decisions.md §1) defines, for any handle kind?
pub(crate) fn is_known(param: u32) -> bool {
    is_global(param)
        || param == 0x0200_0100
        || (0x0300_0000..=0x0300_0003).contains(&param)
        || matches!(param, 0x0400_0000..=0x0400_0002 | 0x0400_0004 | 0x0400_0005)
        || matches!(param, 0x0500_0000..=0x0500_001A | 0x0500_0020)
        || matches!(param, 0x0600_0000 | 0x0600_0001)
        || (0x0800_0000..=0x0800_0005).contains(&param)
}
