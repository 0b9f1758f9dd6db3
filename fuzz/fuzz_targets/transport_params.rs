//! The transport-parameter decoder: never panics, and what it accepts re-encodes losslessly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use msquic::proto::transport_params::TransportParameters;

fuzz_target!(|data: &[u8]| {
    if let Ok(params) = TransportParameters::decode(data) {
        let mut bytes = Vec::new();
        params.encode(&mut bytes);
        assert_eq!(TransportParameters::decode(&bytes).unwrap(), params);
    }
});
