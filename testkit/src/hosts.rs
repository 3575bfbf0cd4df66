//! Spellings of host addresses that a host policy must see through, shared
//! by the proxy's parser unit tests and its end-to-end `--deny-host` tests.

/// Loose IPv4 spellings of `127.0.0.1` (`inet_aton` forms: fewer parts,
/// one 32-bit number, hex and octal parts, letter case, a trailing dot).
pub const LOOPBACK_V4_SPELLINGS: &[&str] = &[
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f.1",
    "0x7f000001",
    "0177.0.0.1",
    "0x7F.0.0.1",
    "127.0.0.1.",
];
